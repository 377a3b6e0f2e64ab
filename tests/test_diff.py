"""`rulelang diff`: two versions of a policy over the same facts (rulelang.review.diff, cli_diff).

A small shop policy and changed copies of it (a bound shifted, an action swapped, a
rule added) are decided over a fixed facts file whose outcomes are worked out by
hand below; the counts, the action matrix, the rules held responsible, the exit
status and the JSON shape are what a reviewer reads and CI gates on.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, RETAIL, run_cli

import rulelang
from rulelang.app import open_pair
from rulelang.cli import main
from rulelang.review.diff import Gate, Versions, compare, edits, file_records, no_answers
from rulelang.review.testing import run_tests

SHOP = """\
policy shop
  version "1"
end

facts item
  price: money in 0 .. 1000
  stock: int in 0 .. 100
  tier: text in {"standard", "gold"}
end

decision
  total: money = item.price
end

rule out_of_stock
  when item.stock == 0
  then block "out of stock"
end

rule gold_discount
  when item.tier == "gold" and item.price >= 100
  then total = item.price * 90%
end

rule big_ticket
  when item.price > 500
  then review "big ticket" by manager
end
"""

# line: outcome under SHOP
FACTS = [
    {"item": {"price": 50, "stock": 5, "tier": "standard"}},  # 1: allow
    {"item": {"price": 450, "stock": 5, "tier": "standard"}},  # 2: allow
    {"item": {"price": 600, "stock": 5, "tier": "gold"}},  # 3: review, total 540
    {"item": {"price": 450, "stock": 0, "tier": "standard"}},  # 4: block
    {"item": {"price": 200, "stock": 3, "tier": "gold"}},  # 5: allow, total 180
    {"item": {"price": "cheap", "stock": 1, "tier": "gold"}},  # 6: bad facts
]

SHIFTED = SHOP.replace("item.price > 500", "item.price > 400")
SWAPPED = SHOP.replace('review "big ticket" by manager', 'block "big ticket"')
ADDED = (
    SHOP
    + """
rule low_stock
  when item.stock > 0 and item.stock < 5
  then total = item.price * 110%
end
"""
)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "old.rule").write_text(SHOP, encoding="utf-8")
    lines = [json.dumps(f) for f in FACTS] + ["{not json"]  # 7: unreadable
    (tmp_path / "facts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def new_version(folder: Path, text: str) -> Path:
    path = folder / "new.rule"
    path.write_text(text, encoding="utf-8")
    return path


def diff_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["diff", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def source_of(report: dict[str, Any]) -> dict[str, Any]:
    (source,) = report["sources"]
    return source


def matrix_cells(source: dict[str, Any]) -> dict[str, int]:
    """The off-diagonal cells of the action matrix that are not zero."""
    return {
        f"{a} -> {b}": n
        for a, row in source["actions"].items()
        for b, n in row.items()
        if a != b and n
    }


def test_a_shifted_bound_changes_the_decisions_between_the_bounds(shop, capsys):
    new = new_version(shop, SHIFTED)
    code, report = diff_json(
        capsys, str(shop / "old.rule"), str(new), "--facts", str(shop / "facts.jsonl")
    )
    assert code == 0  # no --max-changed: no gate
    source = source_of(report)
    assert (source["read"], source["compared"], source["changed"], source["bad"]) == (7, 5, 2, 2)
    assert matrix_cells(source) == {"allow -> review": 1}  # line 2; line 4 stays blocked
    assert source["actions"]["block"]["block"] == 1
    assert source["rules"] == [
        {
            "rule": "big_ticket",
            "kind": "rule",
            "fired_old_only": 0,
            "fired_new_only": 2,
            "in_changed_decisions": 2,
        }
    ]
    assert source["reasons"] == {"changed": 2, "added": {"big ticket": 2}, "removed": {}}
    assert source["review_by"] == [{"old": "", "new": "manager", "count": 2}]
    assert report["edits"] == [
        {"kind": "rule", "name": "big_ticket", "change": "changed", "parts": ["condition"]}
    ]


def test_a_swapped_action_moves_review_to_block_and_drops_the_role(shop, capsys):
    new = new_version(shop, SWAPPED)
    _, report = diff_json(
        capsys, str(shop / "old.rule"), str(new), "--facts", str(shop / "facts.jsonl")
    )
    source = source_of(report)
    assert (source["compared"], source["changed"]) == (5, 1)
    assert matrix_cells(source) == {"review -> block": 1}  # line 3
    assert source["rules"] == []  # big_ticket fires in both: its `then` changed
    assert source["review_by"] == [{"old": "manager", "new": "", "count": 1}]
    assert source["changes"] == {"action review -> block": 1, "review_by": 1}
    assert report["edits"][0]["parts"] == ["then"]


def test_an_added_rule_shifts_an_output_and_is_named(shop, capsys):
    new = new_version(shop, ADDED)
    _, report = diff_json(
        capsys, str(shop / "old.rule"), str(new), "--facts", str(shop / "facts.jsonl")
    )
    source = source_of(report)
    assert (source["compared"], source["changed"]) == (5, 1)  # line 5: 180 -> 220
    assert matrix_cells(source) == {}
    (shift,) = source["outputs"]
    assert shift == {
        "output": "total",
        "type": "money",
        "changed": 1,
        "up": 1,
        "down": 0,
        "total_shift": 40.0,
        "mean_shift": 40.0,
    }
    assert [r["rule"] for r in source["rules"]] == ["low_stock"]
    assert report["edits"] == [
        {"kind": "rule", "name": "low_stock", "change": "added", "parts": []}
    ]


@pytest.mark.parametrize(
    ("gate", "status"), [("1", 1), ("2", 0), ("40%", 0), ("39.9%", 1), ("0%", 1)]
)
def test_max_changed_gates_the_exit_status(shop, capsys, gate, status):
    new = new_version(shop, SHIFTED)  # 2 of 5 compared decisions change
    code = main(
        [
            "diff",
            str(shop / "old.rule"),
            str(new),
            "--facts",
            str(shop / "facts.jsonl"),
            "--max-changed",
            gate,
        ]
    )
    assert code == status
    verdict = capsys.readouterr().out.splitlines()[-1]
    assert verdict.startswith("total: 5 compared, 2 changed (40.00%)")
    assert verdict.endswith("exceeded" if status else "within")


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-changed", "lots"],
        ["--max-changed", "120%"],
        ["--examples", "-1"],
        ["--generated", "0"],  # and no facts: nothing to compare
    ],
)
def test_bad_usage_is_exit_status_2(shop, capsys, argv):
    facts = [] if argv[0] == "--generated" else ["--facts", str(shop / "facts.jsonl")]
    assert main(["diff", str(shop / "old.rule"), str(shop / "old.rule"), *facts, *argv]) == 2
    assert capsys.readouterr().err.startswith("rulelang: ")


def test_a_missing_file_is_bad_usage(shop, capsys):
    assert main(["diff", str(shop / "old.rule"), str(shop / "nope.rule")]) == 2
    assert (
        main(
            [
                "diff",
                str(shop / "old.rule"),
                str(shop / "old.rule"),
                "--facts",
                str(shop / "nope.jsonl"),
            ]
        )
        == 2
    )


def test_the_json_report_has_the_documented_shape(shop, capsys):
    new = new_version(shop, SHIFTED)
    _, report = diff_json(
        capsys,
        str(shop / "old.rule"),
        str(new),
        "--facts",
        str(shop / "facts.jsonl"),
        "--max-changed",
        "3",
    )
    assert set(report) == {
        "old",
        "new",
        "edits",
        "sources",
        "compared",
        "changed",
        "max_changed",
        "exceeded",
    }
    assert (report["compared"], report["changed"], report["max_changed"], report["exceeded"]) == (
        5,
        2,
        "3",
        False,
    )
    assert report["new"]["policy"] == "shop" and report["new"]["file"] == str(new)
    source = source_of(report)
    assert set(source) == {
        "source",
        "read",
        "compared",
        "changed",
        "bad",
        "rejected_by_old",
        "rejected_by_new",
        "actions",
        "outputs",
        "reasons",
        "review_by",
        "rules",
        "changes",
        "examples",
    }
    assert list(source["actions"]) == ["allow", "review", "block"]
    example = source["examples"][0]
    assert set(example) == {"kind", "origin", "given", "old", "new"}
    assert set(example["old"]) == {"action", "outputs", "reasons", "review_by", "fired", "error"}


def test_examples_are_pasteable_given_lines(shop, capsys):
    """The `given` line of an example, pasted into a test of NEW, reproduces NEW's outcome."""
    new = new_version(shop, SHIFTED)
    _, report = diff_json(
        capsys, str(shop / "old.rule"), str(new), "--facts", str(shop / "facts.jsonl")
    )
    by_kind = {e["kind"]: e for e in source_of(report)["examples"]}
    example = by_kind["action allow -> review"]
    assert example["origin"] == "facts.jsonl line 2"
    assert example["given"] == "given item.price = 450, item.stock = 5"
    assert (example["old"]["action"], example["new"]["action"]) == ("allow", "review")
    test = (
        f'\ntest "pasted"\n  {example["given"]}\n  expect action == review\n'
        "  expect fired big_ticket\nend\n"
    )
    (result,) = run_tests(rulelang.open_source(SHIFTED + test))
    assert result.passed, result.failures


def test_examples_are_kept_per_kind_up_to_the_limit(shop, capsys):
    new = new_version(shop, SHIFTED)
    _, report = diff_json(
        capsys,
        str(shop / "old.rule"),
        str(new),
        "--facts",
        str(shop / "facts.jsonl"),
        "--examples",
        "1",
    )
    kinds = [e["kind"] for e in source_of(report)["examples"]]
    assert kinds == sorted(set(kinds))  # one per kind
    _, report = diff_json(
        capsys,
        str(shop / "old.rule"),
        str(new),
        "--facts",
        str(shop / "facts.jsonl"),
        "--examples",
        "0",
    )
    assert source_of(report)["examples"] == []


def test_the_text_report_names_counts_matrix_rules_and_examples(shop, capsys):
    new = new_version(shop, SHIFTED)
    assert (
        main(["diff", str(shop / "old.rule"), str(new), "--facts", str(shop / "facts.jsonl")]) == 0
    )
    out = capsys.readouterr().out
    assert f"facts {shop / 'facts.jsonl'}: 7 read, 5 compared, 2 changed (40.00%)" in out
    assert "set aside: 2 bad, 0 rejected by old only, 0 rejected by new only" in out
    assert "    allow          2       1       0" in out
    assert "  changed  rule big_ticket (condition)" in out
    assert 'review_by: "" -> manager 2' in out
    assert "    action allow -> review (1 decision):" in out
    assert "        given item.price = 450, item.stock = 5" in out
    assert '        new: review ("big ticket") by manager; fired big_ticket' in out


def test_bad_records_are_set_aside_and_written_to_rejects(shop, capsys):
    rejects = shop / "rejects.jsonl"
    _, report = diff_json(
        capsys,
        str(shop / "old.rule"),
        str(shop / "old.rule"),
        "--facts",
        str(shop / "facts.jsonl"),
        "--rejects",
        str(rejects),
    )
    assert source_of(report)["bad"] == 2
    lines = [json.loads(t) for t in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["origin"], r["rejected_by"], r["error"]["type"]) for r in lines] == [
        ("facts.jsonl line 6", "both", "bad_facts"),
        ("facts.jsonl line 7", "both", "bad_record"),
    ]


def test_facts_only_the_new_version_accepts_are_counted_apart(shop, capsys):
    wider = SHOP.replace("price: money in 0 .. 1000", "price: money in 0 .. 5000")
    facts = shop / "facts.jsonl"
    facts.write_text(
        facts.read_text()
        + json.dumps({"item": {"price": 2000, "stock": 1, "tier": "gold"}})
        + "\n",
        encoding="utf-8",
    )
    _, report = diff_json(
        capsys, str(shop / "old.rule"), str(new_version(shop, wider)), "--facts", str(facts)
    )
    source = source_of(report)
    assert (source["compared"], source["rejected_by_old"], source["rejected_by_new"]) == (5, 1, 0)
    (example,) = [e for e in source["examples"] if e["kind"] == "rejected by old only"]
    assert example["old"]["action"] == "rejected"
    assert "item.price" in example["old"]["error"]


def test_generated_facts_come_from_the_new_declarations(shop, capsys):
    wider = SHOP.replace("price: money in 0 .. 1000", "price: money in 0 .. 5000")
    _, report = diff_json(
        capsys,
        str(shop / "old.rule"),
        str(new_version(shop, wider)),
        "--generated",
        "200",
        "--seed",
        "3",
    )
    source = source_of(report)
    assert source["source"] == "generated (seed 3)"
    assert 0 < source["read"] <= 200
    assert source["rejected_by_old"] > 0  # prices above 1000
    assert source["rejected_by_new"] == 0
    assert source["compared"] + source["rejected_by_old"] == source["read"]
    _, again = diff_json(
        capsys, str(shop / "old.rule"), str(shop / "new.rule"), "--generated", "200", "--seed", "3"
    )
    assert source_of(again) == source  # the seed makes it repeatable


def test_both_versions_get_the_same_generated_model_answers(capsys):
    """The same policy twice never differs, though its rules read models with no binding."""
    code, report = diff_json(
        capsys,
        str(RETAIL),
        str(RETAIL),
        "--facts",
        str(EXAMPLES / "retail" / "facts.jsonl"),
        "--generated",
        "50",
        "--max-changed",
        "0",
    )
    assert code == 0
    assert [(s["compared"], s["changed"]) for s in report["sources"]] == [(5000, 0), (50, 0)]
    assert report["edits"] == []
    assert report["sources"][0]["actions"]["block"]["block"] > 0  # fraud_block did fire


def test_bound_models_answer_both_versions(tmp_path, capsys):
    stricter = RETAIL.read_text().replace(">= 0.85", ">= 0.9").replace("..< 0.85", "..< 0.9")
    new = tmp_path / "new.rule"
    new.write_text(stricter, encoding="utf-8")
    models = EXAMPLES / "retail" / "models.standin.yaml"
    _, report = diff_json(
        capsys,
        str(RETAIL),
        str(new),
        "--facts",
        str(EXAMPLES / "retail" / "facts.csv"),
        "--models",
        str(models),
    )
    source = source_of(report)
    assert source["compared"] == 500
    assert set(matrix_cells(source)) == {"block -> review"}  # 0.85 .. 0.9 now reviewed
    assert {r["rule"] for r in source["rules"]} == {"fraud_block", "fraud_review"}
    assert all(e["given"].count("fraud_risk = ") == 1 for e in source["examples"])


def test_the_log_s_facts_can_be_replayed(shop, capsys):
    log = shop / "log.sqlite"
    ran = run_cli(
        "run",
        shop / "old.rule",
        "--facts",
        shop / "facts.jsonl",
        "--out",
        shop / "out.jsonl",
        "--log",
        log,
        cwd=shop,
    )
    assert ran.stderr.startswith("decided 5 "), ran.stderr  # and the bad line rejected
    new = new_version(shop, SHIFTED)
    _, report = diff_json(capsys, str(shop / "old.rule"), str(new), "--log", str(log))
    source = source_of(report)
    assert source["source"] == f"log {log}"
    assert (source["read"], source["compared"], source["changed"]) == (5, 5, 2)
    assert source["examples"][0]["origin"].startswith("log seq ")


def test_a_log_that_is_not_there_is_bad_usage(shop, capsys):
    assert (
        main(
            [
                "diff",
                str(shop / "old.rule"),
                str(shop / "old.rule"),
                "--log",
                str(shop / "none.sqlite"),
            ]
        )
        == 2
    )


def test_layout_and_comments_are_not_edits():
    relaid = SHOP.replace("  when item.stock == 0\n", "  # stock first\n  when   item.stock==0\n")
    old = rulelang.open_source(SHOP).policy
    assert edits(old, rulelang.open_source(relaid).policy) == ()
    found = edits(old, rulelang.open_source(SHIFTED.replace("90%", "85%")).policy)
    assert [(e.name, e.parts) for e in found] == [
        ("gold_discount", ("then",)),
        ("big_ticket", ("condition",)),
    ]


def test_the_stage_streams_a_file_in_batches(shop):
    """The Python API: records in, a SourceDiff out, a batch at a time."""
    new = new_version(shop, SHIFTED)
    old, new_policy = open_pair(shop / "old.rule", new)
    versions = Versions(old, new_policy, str(shop / "old.rule"), str(new))
    records = file_records(shop / "facts.jsonl", versions, no_answers)
    result = compare(versions, records, "facts", batch_size=2, keep=0)
    assert (result.read, result.compared, result.changed, result.bad) == (7, 5, 2, 2)


def test_gate_parses_counts_and_percentages():
    assert Gate.parse("5").exceeded(6, 100) and not Gate.parse("5").exceeded(5, 100)
    assert Gate.parse("2.5%").percent == Decimal("2.5")
    assert Gate.parse("2.5%").exceeded(3, 100) and not Gate.parse("2.5%").exceeded(2, 100)
    assert not Gate.parse("0%").exceeded(0, 0)
    for bad in ("-1", "x", "101%", "nan%"):
        with pytest.raises(ValueError, match="--max-changed"):
            Gate.parse(bad)
