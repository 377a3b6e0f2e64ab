"""Mutation testing of the standard library (benchmarks/mutation.py), on a quick subset.

The mutants are what the script says they are, each one changes the library the
tests are compiled against (not the installed one), and the library's own tests and
invariants kill at least 90% of them. The whole run is `python benchmarks/mutation.py`.
"""

from __future__ import annotations

import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import mutation

from rulelang.paths import stdlib_dir
from rulelang.source import SourceFile
from rulelang.transformer import parse

LIBRARY = stdlib_dir()
SETTINGS = mutation.Settings(LIBRARY, LIBRARY / "tests", examples=100, seed=0)


def mutants(file: str, operator: str | None = None) -> list[mutation.Mutant]:
    found = mutation.mutants_of(LIBRARY / file)
    return [m for m in found if operator is None or m.operator == operator]


def described(file: str, operator: str) -> set[str]:
    return {m.description for m in mutants(file, operator)}


def test_every_operator_makes_the_mutants_it_names() -> None:
    assert "line 16: `<=` -> `<`" in described("inventory.rule", "compare")
    assert "line 26: `..<` -> `..`" in described("fraud.rule", "compare")
    assert {"line 16: `0` -> `-1`", "line 16: `0` -> `1`"} <= described("inventory.rule", "bound")
    assert "line 26: `threshold` -> `(threshold + 1)`" in described("inventory.rule", "bound")
    assert "line 53: `max_discount` -> `(max_discount - 1%)`" in described("pricing.rule", "bound")
    assert {
        "line 26: `stock > 0 and stock < threshold` -> `stock > 0`",
        "line 26: `stock > 0 and stock < threshold` -> `stock < threshold`",
    } <= described("inventory.rule", "clause")
    actions = described("fraud.rule", "action")
    assert 'line 18: `block "fraud risk"` -> `review "fraud risk"`' in actions
    assert 'line 50: `review "large order" by loss_prevention` -> `block "large order"`' in actions
    assert "line 16: `boost rank by uplift` -> `boost rank by -(uplift)`" in described(
        "loyalty.rule", "action"
    )


@pytest.mark.parametrize("file", sorted(p.name for p in LIBRARY.glob("*.rule")))
def test_every_mutant_parses_and_changes_the_text(file: str) -> None:
    text = (LIBRARY / file).read_text(encoding="utf-8")
    found = mutants(file)
    assert found
    for m in found:
        changed = m.apply(text)
        assert changed != text
        parse(SourceFile(file, changed))


def test_a_mutant_is_seen_by_the_tests_not_the_installed_library() -> None:
    [flip] = [m for m in mutants("inventory.rule", "compare") if m.line == 16]
    outcome = mutation.run_mutant(flip, SETTINGS)
    assert outcome.status == "killed"
    assert outcome.by == 'inventory_test.rule: test "an empty stock is blocked"'
    assert (LIBRARY / "inventory.rule").read_text(encoding="utf-8").count("stock <= 0") == 2


def test_the_library_kills_at_least_90_percent_of_its_mutants() -> None:
    chosen = mutants("inventory.rule") + mutants("loyalty.rule")
    outcomes = mutation.run_all(chosen, SETTINGS, jobs=1)
    survivors = [o.mutant.description for o in outcomes if o.status == "survived"]
    assert mutation.score(outcomes) >= 0.9, survivors
    assert not [o for o in outcomes if o.status == "invalid"]


def test_invariants_alone_catch_boundary_mutants() -> None:
    # off-by-one mutants that every test is blind to, if there were no tests: the
    # invariants' inputs aim at the thresholds, so they find them anyway
    chosen = [m for m in mutants("inventory.rule", "bound") if m.line == 48]
    settings = mutation.Settings(
        LIBRARY, LIBRARY / "tests", examples=100, seed=0, judge="invariants"
    )
    outcomes = mutation.run_all(chosen, settings, jobs=1)
    assert [o.status for o in outcomes] == ["killed"] * len(chosen)
    assert all("invariant" in o.by for o in outcomes)


def test_the_script_reports_per_operator_and_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = mutation.main(["--files", "inventory", "--operators", "clause"])
    out = capsys.readouterr().out
    assert code == 0
    assert "| clause | 6 | 0 | 0 | 0 | 100.0% |" in out
    assert "| inventory.rule | 6 | 0 | 0 | 0 | 100.0% |" in out
    assert "| **total** | 6 | 0 | 0 | 0 | 100.0% |" in out
