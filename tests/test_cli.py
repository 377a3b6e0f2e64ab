"""The command line: `rulelang check | run | test | fmt | explain`.

Exit status: 0 success, 1 a check or test failed, 2 bad usage. Errors are rendered
like a compiler's on standard error, never as a traceback. Inputs are small slices
of the retail example, written to tmp_path.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, HEAD, RECORD_KEYS, REPO, RETAIL, run_cli, underlined

from rulelang.cli import main
from rulelang.formatter import format_source

RETAIL_DIR = EXAMPLES / "retail"
STANDIN = RETAIL_DIR / "models.standin.yaml"


class Result:
    def __init__(self, code: Any, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``rulelang.cli.main`` in-process; argparse's exit counts as the exit status."""

    def run(*args: Any) -> Result:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def head(source: Path, target: Path, lines: int) -> Path:
    """The first lines of a file (a CSV keeps its header as the first line)."""
    with open(source, encoding="utf-8") as handle:
        target.write_text("".join(next(handle) for _ in range(lines)), encoding="utf-8")
    return target


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def summary_counts(err: str) -> tuple[int, int]:
    """(decided, rejected) from the summary line on standard error."""
    line = err.strip().splitlines()[-1]
    decided = int(line.split("decided ")[1].split(" ")[0])
    rejected = int(line.split("rejected ")[1].split(",")[0].split(";")[0].split(" ")[0])
    return decided, rejected


TYPO = HEAD + 'rule r\n  when item.stok == 0\n  then block "none"\nend\n'


# ---- check ----------------------------------------------------------------------------------


def test_check_ok(cli: Any) -> None:
    result = cli("check", RETAIL)
    assert result.code == 0
    assert result.out == (
        f"ok: {RETAIL}: 6 rules, 1 constraints, 2 models, 1 tests, 2 invariants\n"
    )


def test_check_with_models(cli: Any) -> None:
    assert cli("check", RETAIL, "--models", STANDIN).code == 0


def test_check_reports_every_error_rendered(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rule"
    bad.write_text(TYPO.replace("rank: number = 1.0", "rank: number = 1.0\n  x: money = 1.5"))
    result = cli("check", RETAIL, bad)
    assert result.code == 1
    assert result.out.startswith(f"ok: {RETAIL}")
    assert f"{bad}:22:8: error[E201]: unknown field `item.stok`" in result.err
    assert "help: did you mean `item.stock`?" in result.err
    assert "item.stok" in underlined(result.err)
    assert "Traceback" not in result.err


def test_check_a_missing_file_is_bad_usage(cli: Any, tmp_path: Path) -> None:
    result = cli("check", tmp_path / "nope.rule")
    assert result.code == 2
    assert result.err == f"rulelang: no such file: {tmp_path / 'nope.rule'}\n"


@pytest.mark.parametrize("args", [("check",), (), ("frobnicate",), ("run", RETAIL)])
def test_bad_usage_exits_2(cli: Any, args: tuple[Any, ...]) -> None:
    assert cli(*args).code == 2


def test_check_in_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rule"
    bad.write_text(TYPO)
    done = run_cli("check", bad, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(f"{bad}:21:8: error[E201]: unknown field `item.stok`\n")
    assert "Traceback" not in done.stderr
    missing = run_cli("check", "nope.rule", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "rulelang: no such file: nope.rule\n")


# ---- run --------------------------------------------------------------------------------------


def test_run_jsonl(cli: Any, tmp_path: Path) -> None:
    facts = head(RETAIL_DIR / "facts.jsonl", tmp_path / "facts.jsonl", 12)
    out = tmp_path / "out.jsonl"
    result = cli("run", RETAIL, "--facts", facts, "--out", out, "--models", STANDIN)
    assert result.code == 0
    decided = records(out)
    assert len(decided) == 12
    assert all(set(r) == set(RECORD_KEYS) for r in decided)
    assert all(r["policy"] == "retail_pricing" and r["error"] is None for r in decided)
    assert all(r["trace"] == [] for r in decided)  # the fast path
    counts = {a: sum(r["action"] == a for r in decided) for a in ("allow", "review", "block")}
    assert result.err.strip() == (
        f"decided 12 (allow {counts['allow']}, review "
        f"{counts['review']}, block {counts['block']}), rejected 0"
    )
    assert (tmp_path / "out.rejects.jsonl").read_text() == ""


def test_run_explain_gives_full_traces(cli: Any, tmp_path: Path) -> None:
    facts = head(RETAIL_DIR / "facts.jsonl", tmp_path / "facts.jsonl", 5)
    out = tmp_path / "out.jsonl"
    cli("run", RETAIL, "--facts", facts, "--out", out, "--models", STANDIN, "--explain")
    for record in records(out):
        assert [t["rule"] for t in record["trace"]] == [
            "out_of_stock",
            "discount_cap",
            "vic_new_collection",
            "evening_wear",
            "fraud_block",
            "fraud_review",
            "margin_floor",
        ]
        assert all("values" in t and "changes" in t for t in record["trace"])
        assert record["models"] and all(m["version"] == "standin-1" for m in record["models"])


def test_run_rejects_bad_records_with_line_numbers(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    rejects = tmp_path / "bad.jsonl"
    bad_facts = RETAIL_DIR / "bad_facts.jsonl"
    result = cli(
        "run", RETAIL, "--facts", bad_facts, "--out", out, "--rejects", rejects, "--models", STANDIN
    )
    assert result.code == 1
    decided, rejected = summary_counts(result.err)
    lines_read = len(bad_facts.read_text().splitlines())
    assert decided + rejected == lines_read
    assert (decided, rejected) == (len(records(out)), len(records(rejects)))
    by_line = {r["line"]: r["error"] for r in records(rejects)}
    assert by_line[2] == {
        "type": "bad_facts",
        "issues": [
            {"path": "item.base_price", "expected": "money in 0 .. 100000", "got": "'cheap'"}
        ],
    }
    assert by_line[3]["issues"] == [
        {"path": "item.stock", "expected": "int in 0 .. 100000", "got": "-5"}
    ]
    assert by_line[7]["type"] == "bad_json"
    assert {i["path"] for i in by_line[8]["issues"]} == {
        "item.stock",
        "customer.tier",
        "order.discount",
        "order.channel",
    }
    assert all(set(r) == set(RECORD_KEYS) for r in records(out))


def test_run_mixed_input_counts_add_up(cli: Any, tmp_path: Path) -> None:
    good = (RETAIL_DIR / "facts.jsonl").read_text().splitlines()[:6]
    bad = (RETAIL_DIR / "bad_facts.jsonl").read_text().splitlines()[:4]
    facts = tmp_path / "mixed.jsonl"
    facts.write_text("\n".join(good[:3] + bad + good[3:]) + "\n")
    out = tmp_path / "out.jsonl"
    result = cli("run", RETAIL, "--facts", facts, "--out", out, "--models", STANDIN)
    decided, rejected = summary_counts(result.err)
    assert decided + rejected == 10
    assert decided == len(records(out))
    rejected_lines = sorted(r["line"] for r in records(tmp_path / "out.rejects.jsonl"))
    assert rejected_lines == [5, 6, 7]  # bad_facts.jsonl's lines 2 to 4; its line 1 is valid


def test_run_csv_decides_as_jsonl_does(cli: Any, tmp_path: Path) -> None:
    csv_facts = head(RETAIL_DIR / "facts.csv", tmp_path / "facts.csv", 9)
    jsonl_facts = head(RETAIL_DIR / "facts.jsonl", tmp_path / "facts.jsonl", 8)
    from_csv, from_jsonl = tmp_path / "csv.jsonl", tmp_path / "jsonl.jsonl"
    result = cli("run", RETAIL, "--facts", csv_facts, "--out", from_csv, "--models", STANDIN)
    assert result.code == 0, (tmp_path / "csv.rejects.jsonl").read_text()
    assert summary_counts(result.err) == (8, 0)
    cli("run", RETAIL, "--facts", jsonl_facts, "--out", from_jsonl, "--models", STANDIN)

    def same(r: dict[str, Any]) -> Any:
        return r["outputs"], r["action"], r["fired"], r["reasons"]

    assert [same(r) for r in records(from_csv)] == [same(r) for r in records(from_jsonl)]


def test_run_csv_rejects_bad_cells_with_their_line(cli: Any, tmp_path: Path) -> None:
    csv_facts = head(RETAIL_DIR / "facts.csv", tmp_path / "facts.csv", 4)
    lines = csv_facts.read_text().splitlines()
    lines[2] = lines[2].replace(",false,", ",maybe,")
    csv_facts.write_text("\n".join(lines) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    result = cli(
        "run",
        RETAIL,
        "--facts",
        csv_facts,
        "--out",
        tmp_path / "o.jsonl",
        "--rejects",
        rejects,
        "--models",
        STANDIN,
    )
    assert result.code == 1
    assert records(rejects) == [
        {
            "line": 3,
            "error": {
                "type": "bad_facts",
                "issues": [
                    {"path": "item.new_collection", "expected": "true or false", "got": "'maybe'"}
                ],
            },
        }
    ]


def test_run_a_missing_facts_file_is_bad_usage(cli: Any, tmp_path: Path) -> None:
    result = cli("run", RETAIL, "--facts", tmp_path / "none.jsonl", "--models", STANDIN)
    assert result.code == 2 and "no such file" in result.err


def test_run_in_a_real_process(tmp_path: Path) -> None:
    facts = head(RETAIL_DIR / "facts.jsonl", tmp_path / "facts.jsonl", 3)
    done = run_cli("run", RETAIL, "--facts", facts, "--models", STANDIN, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(printed) == 3 and all(set(r) == set(RECORD_KEYS) for r in printed)
    assert done.stderr.startswith("decided 3 ")


# ---- test ---------------------------------------------------------------------------------------

TESTED = (
    HEAD
    + """
rule vip_boost "VIPs rank higher"
  when item.vip
  then boost rank by 10%
end

test "VIPs are boosted"
  given item.vip = true
  expect rank == 1.1
  expect fired vip_boost
end

test "others are not"
  expect rank == 1.0
  expect not fired vip_boost
end
"""
)


def test_test_passes(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "p.rule"
    policy.write_text(TESTED)
    result = cli("test", policy, "-v")
    assert result.code == 0
    assert result.out.startswith(
        f"{policy}: 2 tests, 0 invariants\n  PASS  VIPs are boosted\n  PASS  others are not\n"
    )
    assert result.out.endswith("2 passed, 0 failed\n") and "FAIL" not in result.out


def test_test_failure_shows_expected_got_and_trace(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "p.rule"
    policy.write_text(TESTED.replace("expect rank == 1.1", "expect rank == 1.2"))
    result = cli("test", policy)
    assert result.code == 1
    assert "  FAIL  VIPs are boosted (line 26)\n" in result.out
    assert "    line 28: expected rank == 1.2\n    got rank = 1.1\n" in result.out
    assert "    trace:\n" in result.out
    assert "fired         vip_boost (line 21) read item.vip = true; rank: 1.0 -> 1.1" in result.out
    assert result.out.endswith("1 passed, 1 failed\n")


def test_test_a_file_that_does_not_check(cli: Any, tmp_path: Path) -> None:
    policy = tmp_path / "p.rule"
    policy.write_text(TYPO)
    result = cli("test", policy)
    assert result.code == 1 and "error[E201]" in result.err and "Traceback" not in result.err


# ---- fmt ----------------------------------------------------------------------------------------

UGLY = (
    'policy p\nversion "1"\nend\nfacts item\n      stock: int in 0..100\nend\n'
    'decision\nrank: number = 1.0\nend\nrule r   "t"\nwhen item.stock==0 then block "none"\n'
    "end\n"
)


def test_fmt_rewrites_in_place(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.rule"
    path.write_text(UGLY)
    assert cli("fmt", "--check", path).code == 1
    assert path.read_text() == UGLY  # --check changes nothing
    result = cli("fmt", path)
    assert (result.code, result.err) == (0, f"reformatted {path}\n")
    text = path.read_text()
    assert text == format_source(UGLY, str(path))
    assert '  when item.stock == 0\n  then block "none"\n' in text
    assert cli("fmt", "--check", path).code == 0
    assert cli("fmt", path).err == ""  # already formatted: untouched
    assert cli("check", path).code == 0


def test_fmt_a_file_that_does_not_parse(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "p.rule"
    path.write_text("policy p\nend\nrule\n")
    result = cli("fmt", path)
    assert result.code == 1 and "error[E002]: unexpected end of file" in result.err
    assert path.read_text() == "policy p\nend\nrule\n"


# ---- explain ------------------------------------------------------------------------------


@pytest.fixture
def explained(cli: Any, tmp_path: Path) -> Path:
    """Decision records with traces, of facts whose outcomes differ."""
    lines = (RETAIL_DIR / "facts.jsonl").read_text().splitlines()
    vic = json.loads(lines[0])
    vic["customer"]["tier"] = "vic"
    vic["item"]["new_collection"] = True
    facts = tmp_path / "facts.jsonl"
    facts.write_text("\n".join([lines[1], json.dumps(vic), lines[2]]) + "\n")
    out = tmp_path / "out.jsonl"
    assert (
        cli("run", RETAIL, "--facts", facts, "--out", out, "--models", STANDIN, "--explain").code
        == 0
    )
    return out


def test_explain_by_line(cli: Any, explained: Path) -> None:
    result = cli("explain", explained, "--line", 2)
    assert result.code == 0
    assert result.out.startswith(f"Decision {records(explained)[1]['id']}\n")
    assert "  vic_new_collection (line 53): fired\n" in result.out
    assert '      read customer.tier = "vic", item.new_collection = true\n' in result.out
    assert "      changed rank from 1.0 to 1.15\n" in result.out
    assert "  out_of_stock (line 42): did not fire: its condition was false\n" in result.out
    assert result.out.count("Decision ") == 1


def test_explain_by_id(cli: Any, explained: Path) -> None:
    record = records(explained)[2]
    result = cli("explain", explained, "--id", record["id"])
    assert result.code == 0
    assert result.out.count("Decision ") == 1 and record["id"] in result.out
    assert "constraint margin_floor (line 75): did not hold, so its `otherwise` ran" in result.out
    assert "changed price from 959.732 to 1509.508" in result.out


def test_explain_all_records_of_a_file(cli: Any, explained: Path) -> None:
    assert cli("explain", explained).out.count("Decision ") == 3


def test_explain_no_such_record(cli: Any, explained: Path, tmp_path: Path) -> None:
    assert cli("explain", explained, "--id", "01NOSUCHID").code == 2
    assert cli("explain", explained, "--line", 99).code == 2
    result = cli("explain", tmp_path / "none.jsonl")
    assert result.code == 2 and "is not a file" in result.err


def test_explain_source(cli: Any) -> None:
    result = cli("explain", "--source", RETAIL)
    assert result.code == 0 and result.out.startswith("# generated by rulelang")


def test_console_script_is_the_same_cli(tmp_path: Path) -> None:
    # The script declared is the `entry` that `python -m rulelang` calls (rulelang/__main__.py);
    # test_wheel.py runs the installed script itself.
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {"rulelang": "rulelang.cli.main:entry"}
    done = run_cli(cwd=tmp_path)
    assert done.returncode == 2 and "check" in done.stdout and "explain" in done.stdout


def test_review_override_a_value_that_does_not_read_is_bad_usage(cli: Any, tmp_path: Path) -> None:
    """A mistyped value names the expected form, exits 2 and leaves nothing in the log;
    a value that reads but breaks the policy's bounds is a logged refusal."""
    out, log = tmp_path / "d.jsonl", f"sqlite:///{tmp_path / 'log.sqlite'}"
    facts = head(RETAIL_DIR / "facts.jsonl", tmp_path / "f.jsonl", 20)
    ran = cli("run", RETAIL, "--facts", facts, "--models", STANDIN, "--out", out, "--log", log)
    assert ran.code == 0, ran.err
    decision = next(r["id"] for r in records(out) if r["action"] != "block")
    who = ("--as", "carol", "--role", "pricing_manager", "--reason", "match")
    typo = cli("review", "override", decision, "price=abc", *who, "--log", log)
    assert typo.code == 2
    assert "cannot read the value of `price`: expected an amount such as 628.90" in typo.err
    assert "Traceback" not in typo.err and "class" not in typo.err
    assert "Review: none." in cli("review", "show", decision, "--log", log).out
    refused = cli("review", "override", decision, "price=0.01", *who, "--log", log)
    assert refused.code == 1 and "refused" in refused.err
    assert "override refused" in cli("review", "show", decision, "--log", log).out
