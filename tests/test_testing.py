"""`test` blocks: a compiled policy -> one result per test (rulelang.review.testing).

Every test block shipped with the standard library and the examples passes; fields
a test does not give take LANGUAGE.md's defaults; a failing expectation says what
was expected and what came. (Invariants are checked elsewhere.)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import EXAMPLES, HEAD, REPO, error_of, exact, underlined

import rulelang
from rulelang.review.testing import default_facts, render_failure, run_tests

SHIPPED = sorted((REPO / "stdlib_rules" / "tests").glob("*.rule")) + sorted(
    EXAMPLES.glob("*/policy.rule")
)


def compiled(path: Path) -> rulelang.CompiledPolicy:
    """As `rulelang test` loads a file: models come from each test's `with`."""
    return rulelang.open_policy(path, bindings=False, allow_unbound=True)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_test_blocks_pass(path: Path) -> None:
    results = run_tests(compiled(path))
    assert results, f"{path} has no test blocks"
    failed = [render_failure(r) for r in results if not r.passed]
    assert not failed, "\n".join(failed)


def test_every_shipped_file_is_covered() -> None:
    names = {p.relative_to(REPO).as_posix() for p in SHIPPED}
    assert {
        "stdlib_rules/tests/pricing_test.rule",
        "examples/retail/policy.rule",
        "examples/fraud/policy.rule",
        "examples/ranking/policy.rule",
    } <= names


DEFAULTS = """\
policy defaults
  version "1"
end

facts thing
  price: money in 5 .. 1000
  count: int in -3 .. 3
  score: number in 0.5 .. 1
  share: percent
  half_open: int in 2 ..< 9
  size: text in {"medium", "small", "large"}
  name: text
  flag: bool
  note: text optional
end

decision
  seen: bool = false
end
"""


def test_default_facts_take_the_lowest_value_first_enum_false_and_empty_text() -> None:
    policy = rulelang.open_source(DEFAULTS)
    assert exact(default_facts(policy.policy)) == exact(
        {
            "thing": {
                "price": Decimal(5),
                "count": -3,
                "score": 0.5,
                "share": Decimal(0),
                "half_open": 2,
                "size": "medium",
                "name": "",
                "flag": False,
            }
        }
    )


def test_a_test_sees_the_defaults_for_fields_it_does_not_give() -> None:
    policy = rulelang.open_source(
        DEFAULTS
        + """
test "defaults"
  given thing.name = "x"
  expect thing.price == 5 and thing.count == -3 and thing.score == 0.5
  expect thing.share == 0% and thing.half_open == 2 and thing.size == "medium"
  expect thing.name == "x" and not thing.flag and thing.note is not present
end

test "empty text"
  expect thing.name == ""
end
"""
    )
    results = run_tests(policy)
    assert [r.failures for r in results] == [(), ()]


def test_with_replaces_models_and_unknown_runs_the_unknown_branch() -> None:
    policy = rulelang.open_source(
        HEAD
        + """
model risk(item) -> score
  min_confidence 90%
end

rule risky
  when risk(item) > 0.5
  then block "risky"
  if unknown then review "no risk answer" by ops
end

test "a high risk blocks"
  with risk = 0.9
  expect action == block
  expect fired risky
end

test "no answer goes to review"
  with risk = unknown
  expect action == review and review_by == "ops"
  expect not fired risky
end
""",
        allow_unbound=True,
    )
    results = run_tests(policy)
    assert [(r.name, r.passed) for r in results] == [
        ("a high risk blocks", True),
        ("no answer goes to review", True),
    ]
    decision = results[1].decision
    assert decision is not None
    assert [(c.model, c.value, c.source) for c in decision.models] == [("risk", None, "test")]


FAILING = (
    HEAD
    + """
rule boost_vip
  when item.vip
  then boost rank by 10%
end

test "vip rank"
  given item.vip = true, item.price = 20
  expect rank == 1.2 and out == 20
  expect not fired boost_vip
end

test "never fires"
  expect fired boost_vip
end
"""
)


def test_a_failing_test_says_what_was_expected_and_what_came() -> None:
    results = run_tests(rulelang.open_source(FAILING, name="f.rule"))
    vip, never = results
    assert (vip.passed, vip.line, never.passed) == (False, 26, False)
    assert vip.failures == (
        "line 28: expected rank == 1.2 and out == 20\n    got out = 20, rank = 1.1",
        "line 29: expected boost_vip not to fire; fired: boost_vip",
    )
    assert never.failures == ("line 33: expected boost_vip to fire; fired: nothing",)
    report = render_failure(vip)
    assert report.startswith("  FAIL  vip rank (line 26)\n")
    assert "    trace:\n" in report
    assert "fired         boost_vip (line 21) read item.vip = true; rank: 1.0 -> 1.1" in report


def test_a_given_value_outside_its_range_is_a_check_error() -> None:
    error = error_of(
        HEAD + 'test "too many"\n  given item.stock = 500\n  expect action == allow\nend\n'
    )
    assert [d.message for d in error.diagnostics] == [
        "item.stock = 500 lies outside its declared range"
    ]
    assert underlined(str(error)) == ["500"]


def test_a_test_whose_decision_fails_fails_whatever_it_expects() -> None:
    # `fired` expectations alone would not notice a division by zero.
    text = (
        HEAD
        + """
rule share
  when item.price / item.stock > 1
  then rank = 2.0
end

test "no stock"
  given item.stock = 0
  expect not fired share
end
"""
    )
    [result] = run_tests(rulelang.open_source(text, name="z.rule"))
    assert not result.passed
    assert result.failures == ("the decision failed in share: division by zero",)
