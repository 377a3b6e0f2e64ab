"""Invariants (rulelang.review.invariants): generated inputs, shrunk counterexamples.

The retail example's deliberately false invariant is caught with the counterexample
LANGUAGE.md describes (an out-of-stock VIC new-collection item, whatever the models
say), whatever the seed; the printed `given ... with ...` line pasted into a `test`
block reproduces the failure; generation aims at the policy's boundaries; and the
`test` command's --seed, --examples and --deadline reach the search.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import HEAD, RETAIL

import rulelang
from rulelang.cli import main
from rulelang.review.invariants import boundaries, check_invariant, check_invariants, literal
from rulelang.review.testing import run_tests

BLOCKED_NO_BOOST = "Blocked items get no boost"
WANTED = (
    'given item.stock = 0, item.new_collection = true, customer.tier = "vic" '
    "with fraud_risk = unknown, similarity = unknown"
)


def retail() -> rulelang.CompiledPolicy:
    return rulelang.open_policy(RETAIL, bindings=False, allow_unbound=True)


def invariant(compiled: rulelang.CompiledPolicy, name: str) -> object:
    return next(i for i in compiled.policy.invariants if i.name == name)


def pasted(source: str, line: str, expect: str) -> str:
    """The source with a test block made of a counterexample line and an `expect`."""
    return f'{source}\ntest "pasted counterexample"\n  {line}\n  expect {expect}\nend\n'


# ---- the retail example --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 3, 11])
def test_the_false_retail_invariant_is_an_out_of_stock_vic_new_collection_item(seed: int) -> None:
    compiled = retail()
    results = {r.name: r for r in check_invariants(compiled, seed_value=seed)}
    assert results["Price never falls below cost"].passed
    found = results[BLOCKED_NO_BOOST]
    assert not found.passed
    assert found.counterexample == WANTED  # no model answer needed: it fails whatever they say
    assert found.decision is not None
    assert found.decision.action == "block" and found.decision.outputs["rank"] == 1.15
    assert found.seed == seed and found.examples == 300


def test_the_counterexample_pasted_into_a_test_fails_the_same_way() -> None:
    compiled = retail()
    found = check_invariant(compiled, invariant(compiled, BLOCKED_NO_BOOST))  # type: ignore[arg-type]
    source = RETAIL.read_text(encoding="utf-8")
    copy = rulelang.open_source(
        pasted(source, found.counterexample, "action == block implies rank == 1.0"),
        name="copy.rule",
        allow_unbound=True,
    )
    [result] = [r for r in run_tests(copy) if r.name == "pasted counterexample"]
    assert not result.passed
    assert "expected action == block implies rank == 1.0" in result.failures[0]
    assert 'action = "block"' in result.failures[0] and "rank = 1.15" in result.failures[0]
    assert result.decision is not None and found.decision is not None
    assert result.decision.outputs == found.decision.outputs
    assert result.decision.fired == found.decision.fired


def test_the_same_seed_gives_the_same_counterexample() -> None:
    compiled = retail()
    inv = invariant(compiled, BLOCKED_NO_BOOST)
    first = check_invariant(compiled, inv, seed_value=5, examples=100)  # type: ignore[arg-type]
    again = check_invariant(compiled, inv, seed_value=5, examples=100)  # type: ignore[arg-type]
    assert first.counterexample == again.counterexample != ""


# ---- pasteable lines for every kind of value ----------------------------------------------------


def found_line(body: str, **kwargs: object) -> tuple[str, str]:
    """The counterexample of the one invariant of HEAD + body, and the source."""
    source = HEAD + body
    compiled = rulelang.open_source(source, allow_unbound=True)
    result = check_invariant(compiled, compiled.policy.invariants[0], **kwargs)  # type: ignore[arg-type]
    assert not result.passed
    return result.counterexample, source


def assert_reproduces(line: str, source: str, expect: str) -> None:
    copy = rulelang.open_source(pasted(source, line, expect), allow_unbound=True)
    [result] = [r for r in run_tests(copy) if r.name == "pasted counterexample"]
    assert not result.passed, line


def test_a_text_with_quotes_and_backslashes_is_written_escaped() -> None:
    body = (
        "facts tag\n  label: text\nend\n\n"
        'invariant "no odd label"\n  tag.label != "a\\"b\\\\c"\nend\n'
    )
    line, source = found_line(body)
    assert line == 'given tag.label = "a\\"b\\\\c"'
    assert_reproduces(line, source, 'tag.label != "a\\"b\\\\c"')


def test_a_failure_at_the_defaults_still_gives_a_given_line() -> None:
    line, source = found_line('invariant "a price"\n  out > 0\nend\n')
    assert line.startswith("given ")
    assert_reproduces(line, source, "out > 0")


def test_percent_money_and_number_values_paste() -> None:
    body = (
        'invariant "narrow"\n  item.discount < 33.33% or item.price < 500.5 '
        "or item.score < 2.5\nend\n"
    )
    line, source = found_line(body)
    assert "item.discount = 33.33%" in line and "item.price = 500.5" in line
    assert re.search(r"item\.score = \d+\.\d+", line)  # a float, written as one
    assert_reproduces(
        line, source, "item.discount < 33.33% or item.price < 500.5 or item.score < 2.5"
    )


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (1e-06, "number", "0.000001"),
        (0.1, "number", "0.1"),
        (Decimal("0.1234"), "percent", "12.34%"),
        (Decimal("10.50"), "money", "10.50"),
        ("x", "text", '"x"'),
        (True, "bool", "true"),
        (3, "int", "3"),
    ],
)
def test_literals_are_written_as_the_language_writes_them(
    value: object, kind: str, text: str
) -> None:
    assert literal(value, kind) == text


# ---- aiming at boundaries -------------------------------------------------------------------


def test_boundaries_are_the_constants_compared_with_fields_models_and_outputs() -> None:
    body = (
        "model risk(item) -> score\nend\n\n"
        'rule r\n  when item.stock >= 50 and risk(item) > 0.7 and item.category == "bags"\n'
        '  then block "x"\n  if unknown then review "y"\nend\n'
        "ensure floor\n  out >= 5\n  otherwise out = 5\nend\n"
    )
    found = boundaries(rulelang.open_source(HEAD + body, allow_unbound=True).policy)
    assert found[("item", "stock")] == {50}
    assert found[("model", "risk")] == {0.7}
    assert found[("item", "category")] == {"bags"}
    assert found[("item", "price")] == {Decimal(5)}  # `out` starts as item.price


def test_an_off_by_one_is_found_on_the_edge_not_by_luck() -> None:
    # the rule blocks from 50; the invariant says above 50: only stock = 50 tells them apart
    body = (
        'rule r\n  when item.stock >= 50\n  then block "x"\nend\n'
        'invariant "blocked above 50"\n  action == block implies item.stock > 50\nend\n'
    )
    for seed in range(5):  # the edges are tried first: one drawn example is enough
        line, _ = found_line(body, examples=1, seed_value=seed)
        assert line == "given item.stock = 50"


# ---- `rulelang test` ------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["test", *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_the_cli_takes_seed_examples_and_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(
        capsys, "--seed", "7", "--examples", "200", "--deadline", "10000", str(RETAIL)
    )
    assert code == 1
    assert "counterexample (seed 7, 200 examples):" in out
    assert f"      {WANTED}\n" in out
    assert "invariants: seed 7, 200 examples each (rerun with --seed 7)" in out
    assert out.rstrip().endswith("2 passed, 1 failed")


def test_without_a_seed_a_random_one_is_printed_and_reproduces(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = run_cli(capsys, "--examples", "40", str(RETAIL))[1]
    match = re.search(r"invariants: seed (\d+), 40 examples each", out)
    assert match is not None
    seed = match.group(1)
    again = run_cli(capsys, "--examples", "40", "--seed", seed, str(RETAIL))[1]
    lines = [ln for ln in out.splitlines() if ln.startswith("      given")]
    assert lines == [ln for ln in again.splitlines() if ln.startswith("      given")]


def test_a_tiny_deadline_fails_with_a_slow_example(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "p.rule"
    path.write_text(HEAD + 'invariant "holds"\n  out >= 0\nend\n', encoding="utf-8")
    code, out = run_cli(capsys, "--seed", "1", "--deadline", "0.001", str(path))
    assert code == 1
    assert (
        "slow example (seed 1, 300 examples): an example took longer than the deadline "
        "(0.001 ms):" in out
    )


@pytest.mark.parametrize("flag", [["--examples", "0"], ["--deadline", "-5"]])
def test_bad_search_settings_are_bad_usage(
    flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(capsys, *flag, str(RETAIL))
    assert code == 2 and "take a positive number" in out
