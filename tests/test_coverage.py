"""`rulelang test --coverage`: what a file's tests made each rule and ensure do (coverage.py).

The policy below has three tests, worked out by hand: which rule fires, which is
skipped, which goes unknown, and when the constraint holds or steps in. A rule no
test fires is named in a warning line; the JSON lists the counts per rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import RETAIL

import rulelang
from rulelang.cli import main
from rulelang.review import testing
from rulelang.review.coverage import coverage_of
from rulelang.review.testing import run_tests

POLICY = """\
policy shop
  version "1"
end

facts item
  price: money in 0 .. 1000
  stock: int in 0 .. 100
  tier: text in {"standard", "gold"}
end

model risk(item) -> score
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

rule risky
  when risk(item) >= 0.9
  then block "risky"
  if unknown then review "no risk score" by fraud
end

ensure floor
  total >= 10
  otherwise total = 10
end

test "gold is discounted"
  given item.tier = "gold", item.price = 200, item.stock = 1
  with risk = 0.1
  expect total == 180
end

test "no stock, no score"
  given item.stock = 0
  with risk = unknown
  expect action == block
end

test "cheap and risky"
  given item.price = 5, item.stock = 2
  with risk = 0.95
  expect fired risky
end
"""

EXPECTED_RULES = {  # rule: (fired, skipped, unknown)
    "out_of_stock": (1, 2, 0),
    "gold_discount": (1, 2, 0),
    "big_ticket": (0, 3, 0),
    "risky": (1, 1, 1),
}


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.rule"
    path.write_text(POLICY, encoding="utf-8")
    return path


def coverage_json(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, dict[str, Any]]:
    out = policy_file.parent / "coverage.json"
    code = main(["test", str(policy_file), "--coverage-json", str(out)])
    return code, capsys.readouterr().out, json.loads(out.read_text(encoding="utf-8"))


def test_json_lists_fired_skipped_unknown_per_rule(policy_file, capsys):
    code, _, data = coverage_json(policy_file, capsys)
    assert code == 0  # coverage warnings do not fail the tests
    (file,) = data["files"]
    assert (file["file"], file["tests"], file["decided"]) == (str(policy_file), 3, 3)
    counts = {r["rule"]: (r["fired"], r["skipped"], r["unknown"]) for r in file["rules"]}
    assert counts == EXPECTED_RULES
    assert [r["rule"] for r in file["rules"]] == list(EXPECTED_RULES)  # evaluation order
    risky = next(r for r in file["rules"] if r["rule"] == "risky")
    assert risky["fired_by"] == ["cheap and risky"]
    assert risky["where"] == "line 33"
    (floor,) = file["ensures"]
    assert floor == {
        "ensure": "floor",
        "where": "line 39",
        "held": 1,
        "stepped_in": 2,
        "unsatisfiable": 0,
        "stepped_in_by": ["no stock, no score", "cheap and risky"],
    }
    assert file["never_fired"] == ["big_ticket"]


def test_a_rule_no_test_fires_is_named_in_a_warning(policy_file, capsys):
    assert main(["test", str(policy_file), "--coverage"]) == 0
    out = capsys.readouterr().out
    warnings = [line.strip() for line in out.splitlines() if "warning" in line]
    assert warnings == ["warning: rule big_ticket (line 28) is never fired by a test"]


def test_the_table_follows_the_test_report(policy_file, capsys):
    main(["test", str(policy_file), "--coverage"])
    lines = capsys.readouterr().out.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.endswith("passed, 0 failed"))
    table = lines[summary + 1 :]
    assert table[:3] == [
        "",
        f"coverage of {policy_file}: 3 tests, 3 decided",
        "  rule           where    fired  skipped  unknown",
    ]
    assert "  risky          line 33      1        1        1" in table
    assert "  ensure  where    held  stepped in  unsatisfiable" in table
    assert "  floor   line 39     1           2              0" in table


def test_without_the_flag_there_is_no_table(policy_file, capsys):
    assert main(["test", str(policy_file)]) == 0
    assert "coverage" not in capsys.readouterr().out


def test_a_test_without_a_decision_counts_as_a_test_only():
    compiled = rulelang.open_source(POLICY, allow_unbound=True)
    rejected = testing.TestResult("facts rejected", 60, ("item.price: expected ...",), None)
    coverage = coverage_of("shop.rule", compiled.policy, [*run_tests(compiled), rejected])
    assert (coverage.tests, coverage.decided) == (4, 3)
    assert {
        r.name: (r.count("fired"), r.count("skipped"), r.count("unknown")) for r in coverage.rules
    } == EXPECTED_RULES


def test_the_retail_example_fires_one_rule_of_six():
    compiled = rulelang.open_policy(RETAIL, bindings=False, allow_unbound=True)
    coverage = coverage_of(str(RETAIL), compiled.policy, run_tests(compiled))
    assert [r.name for r in coverage.rules if r.count("fired")] == ["vic_new_collection"]
    assert len(coverage.never_fired) == 5
    assert coverage.ensures[0].count("held") == 1


def test_template_rules_point_into_the_template():
    stdlib = Path(__file__).resolve().parent.parent / "stdlib_rules" / "tests"
    compiled = rulelang.open_policy(
        stdlib / "pricing_test.rule", bindings=False, allow_unbound=True
    )
    coverage = coverage_of("pricing_test.rule", compiled.policy, run_tests(compiled))
    assert all(
        item.where.startswith("pricing.rule:") for item in (*coverage.rules, *coverage.ensures)
    )
    assert sum(item.count("fired") for item in coverage.rules) > 0
