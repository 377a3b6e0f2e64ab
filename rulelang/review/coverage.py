"""Test coverage: one file's test results -> what its tests made each rule do.

Input: a policy and the ``TestResult``s of its `test` blocks; their decisions are
explain-path decisions, whose trace lists every rule's and constraint's outcome.
Output: a frozen ``Coverage``: per rule, in how many tests it fired, was skipped
(its condition false) or went unknown (its `if unknown` branch ran, or nothing
did); per `ensure`, in how many it held, stepped in (its `otherwise` ran) or could
not be satisfied. ``render`` gives the table and a warning line per rule that no
test fires; ``to_dict`` is its JSON.

Only the `test` blocks count, not the examples invariants generate: coverage
says what the written tests pin down with an `expect`, and generated inputs make
nearly every rule fire somewhere, which would hide exactly the untested rules.
A test whose facts are rejected, or whose decision fails, has no trace: it is
counted in ``tests`` but not in ``decided``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rulelang import ir
from rulelang.review.testing import TestResult

RULE_OUTCOMES = ("fired", "skipped", "unknown")
ENSURE_OUTCOMES = ("held", "stepped_in", "unsatisfiable")
_TRACE_OUTCOME = {("ensure", "fired"): "stepped_in"}  # an ensure "fires" when it steps in


@dataclass(frozen=True, slots=True)
class Item:
    """One rule or constraint: in how many tests each outcome happened."""

    name: str
    kind: str  # "rule" | "ensure"
    where: str  # "line 12", or "pricing.rule:8" for a template's rule
    counts: tuple[tuple[str, int], ...]  # outcome -> tests, every outcome of the kind
    acted_in: tuple[str, ...]  # the tests where it fired (a rule) or stepped in (an ensure)

    def count(self, outcome: str) -> int:
        return dict(self.counts).get(outcome, 0)

    def to_dict(self) -> dict[str, Any]:
        verb = "fired_by" if self.kind == "rule" else "stepped_in_by"
        return {
            self.kind: self.name,
            "where": self.where,
            **dict(self.counts),
            verb: list(self.acted_in),
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """What one file's tests made its rules and constraints do."""

    file: str
    tests: int
    decided: int  # tests that produced a traced decision
    rules: tuple[Item, ...]
    ensures: tuple[Item, ...]

    @property
    def never_fired(self) -> tuple[Item, ...]:
        """Rules that no test fires: their `then` is never checked by a test."""
        return tuple(r for r in self.rules if r.count("fired") == 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "tests": self.tests,
            "decided": self.decided,
            "rules": [r.to_dict() for r in self.rules],
            "ensures": [e.to_dict() for e in self.ensures],
            "never_fired": [r.name for r in self.never_fired],
        }

    def render(self) -> str:
        tests = f"{self.tests} test" + ("" if self.tests == 1 else "s")
        blocks = [
            f"coverage of {self.file}: {tests}, {self.decided} decided",
            *_table("rule", RULE_OUTCOMES, self.rules),
        ]
        if self.ensures:
            blocks += ["", *_table("ensure", ENSURE_OUTCOMES, self.ensures)]
        warnings = [
            f"  warning: rule {r.name} ({r.where}) is never fired by a test"
            for r in self.never_fired
        ]
        blocks += ["", *warnings] if warnings else []
        return "\n".join(blocks)


def coverage_of(file: str, policy: ir.Policy, results: Sequence[TestResult]) -> Coverage:
    """Count, per rule and constraint, the tests in which each outcome happened."""
    counts: Counter[tuple[str, str]] = Counter()
    acted: dict[str, list[str]] = defaultdict(list)
    decided = 0
    for result in results:
        trace = result.decision.trace if result.decision is not None else ()
        decided += bool(trace)
        for name, outcome in sorted({(f.rule, _outcome(f.kind, f.outcome)) for f in trace}):
            counts[(name, outcome)] += 1
            if outcome in ("fired", "stepped_in"):
                acted[name].append(result.name)
    rules = tuple(_item(r, "rule", RULE_OUTCOMES, counts, acted, policy) for r in policy.rules)
    ensures = tuple(
        _item(e, "ensure", ENSURE_OUTCOMES, counts, acted, policy) for e in policy.ensures
    )
    return Coverage(file, len(results), decided, rules, ensures)


def _outcome(kind: str, outcome: str) -> str:
    return _TRACE_OUTCOME.get((kind, outcome), outcome)


def _item(
    node: ir.Rule | ir.Ensure,
    kind: str,
    outcomes: tuple[str, ...],
    counts: Counter[tuple[str, str]],
    acted: dict[str, list[str]],
    policy: ir.Policy,
) -> Item:
    span = node.span
    # A template's rule points into the template: name its file (pricing.rule:8).
    where = (
        f"line {span.line}"
        if span.file.name == policy.source_name
        else f"{Path(span.file.name).name}:{span.line}"
    )
    return Item(
        node.name,
        kind,
        where,
        tuple((o, counts[(node.name, o)]) for o in outcomes),
        tuple(acted.get(node.name, ())),
    )


def _table(kind: str, outcomes: tuple[str, ...], items: tuple[Item, ...]) -> list[str]:
    if not items:
        return []
    heads = [kind, "where", *(o.replace("_", " ") for o in outcomes)]
    rows = [[i.name, i.where, *(str(i.count(o)) for o in outcomes)] for i in items]
    widths = [max(len(row[c]) for row in [heads, *rows]) for c in range(len(heads))]

    def line(row: list[str]) -> str:
        cells = [f"{row[0]:<{widths[0]}}", f"{row[1]:<{widths[1]}}"]
        cells += [f"{cell:>{w}}" for cell, w in zip(row[2:], widths[2:], strict=True)]
        return "  " + "  ".join(cells)

    return [line(heads), *(line(r) for r in rows)]
