"""Trust figures: how rules and models behave, and how often people disagree.

Input: a ``DecisionLog``. Output: a ``TrustReport`` (text via ``render``, JSON via
``to_dict``).

Per rule, over the decisions where its `then` ran (``fired``) or its `if unknown`
branch ran (``unknown``, visible only in traced records): how many went to review,
how many a person closed (``ReviewEvent.closes``), how many were overridden, and in
which direction (a numeric output raised or lowered; the action moved up or down
allow < review < block).
Per model: calls, answers, no answers by reason, mean value and time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rulelang.decision import DecisionRecord, ModelCallRecord, Outcome, outcome_of
from rulelang.store.explain import no_answer_reason
from rulelang.store.log import DecisionLog
from rulelang.store.records import LoggedDecision, ReviewEvent

_ACTION_RANK = {"allow": 0, "review": 1, "block": 2}


@dataclass(frozen=True, slots=True)
class RuleFigures:
    rule: str
    fired: int
    unknown: int
    to_review: int
    reviewed: int
    overridden: int
    directions: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "fired": self.fired,
            "unknown": self.unknown,
            "to_review": self.to_review,
            "reviewed": self.reviewed,
            "overridden": self.overridden,
            "review_rate": _rate(self.to_review, self.fired + self.unknown),
            "override_rate": _rate(self.overridden, self.reviewed),
            "directions": dict(self.directions),
        }


@dataclass(frozen=True, slots=True)
class ModelFigures:
    model: str
    versions: tuple[str, ...]
    calls: int
    answered: int
    no_answer: dict[str, int]
    mean_value: float | None
    mean_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "versions": list(self.versions),
            "calls": self.calls,
            "answered": self.answered,
            "no_answer": dict(self.no_answer),
            "no_answer_rate": _rate(sum(self.no_answer.values()), self.calls),
            "mean_value": self.mean_value,
            "mean_ms": self.mean_ms,
        }


@dataclass(frozen=True, slots=True)
class TrustReport:
    decisions: int
    actions: dict[str, int]
    reviewed: int
    overridden: int
    refused: int
    outputs: dict[str, dict[str, int]]
    rules: tuple[RuleFigures, ...]
    models: tuple[ModelFigures, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "actions": dict(self.actions),
            "reviewed": self.reviewed,
            "overridden": self.overridden,
            "refused_overrides": self.refused,
            "overrides_by_output": {k: dict(v) for k, v in self.outputs.items()},
            "rules": [r.to_dict() for r in self.rules],
            "models": [m.to_dict() for m in self.models],
        }

    def render(self) -> str:
        return "\n\n".join(s for s in (self._summary(), _rule_table(self.rules),
                                       _model_table(self.models)) if s)  # fmt: skip

    def _summary(self) -> str:
        actions = ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items()))
        lines = [
            f"Decisions: {self.decisions}" + (f" ({actions})" if actions else ""),
            f"Closed by a person: {self.reviewed}; overridden: {self.overridden}; "
            f"overrides refused: {self.refused}",
        ]
        for output, dirs in sorted(self.outputs.items()):
            lines.append(f"  {output}: " + ", ".join(f"{k} {v}" for k, v in sorted(dirs.items())))
        return "\n".join(lines)


def report(log: DecisionLog, policy: str | None = None) -> TrustReport:
    """Read the whole log (decisions without facts, page by page) and count."""
    events = _events_by_decision(log)
    tally = _Tally()
    for decision in log.decisions(policy=policy, with_facts=False):
        tally.add(decision, events.get(decision.decision_id, []))
    return tally.freeze()


def direction(output: str, old: Any, new: Any) -> str:
    """ "raised", "lowered", "action up", "action down", "same" or "changed"."""
    if output == "action" and old in _ACTION_RANK and new in _ACTION_RANK:
        step = _ACTION_RANK[new] - _ACTION_RANK[old]
        return "same" if step == 0 else ("action up" if step > 0 else "action down")
    if _is_number(old) and _is_number(new):
        a, b = Decimal(str(old)), Decimal(str(new))
        return "same" if a == b else ("raised" if b > a else "lowered")
    return "same" if old == new else "changed"


@dataclass
class _Tally:
    """Counters filled while reading the log (local to ``report``)."""

    decisions: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    closed: int = 0
    overridden: int = 0
    refused: int = 0
    outputs: dict[str, Counter[str]] = field(default_factory=dict)
    rules: dict[str, Counter[str]] = field(default_factory=dict)
    models: dict[str, list[ModelCallRecord]] = field(default_factory=dict)

    def add(self, decision: LoggedDecision, events: Sequence[ReviewEvent]) -> None:
        record = decision.record
        self.decisions += 1
        self.actions[decision.action] += 1
        overrides = [e for e in events if e.kind == "overridden"]
        closed = any(e.closes(decision.review_by) for e in events)
        self.closed += closed
        self.overridden += bool(overrides)
        self.refused += sum(e.kind == "refused" for e in events)
        dirs = [(e.output, direction(e.output, e.old, e.new)) for e in overrides]
        for output, way in dirs:
            self.outputs.setdefault(output, Counter())[way] += 1
        for rule, how in _rules_involved(record):
            self._add_rule(rule, how, decision, closed, [way for _, way in dirs])
        for call in record["models"]:
            self.models.setdefault(call["model"], []).append(call)

    def _add_rule(
        self, rule: str, how: str, decision: LoggedDecision, closed: bool, ways: list[str]
    ) -> None:
        counts = self.rules.setdefault(rule, Counter())
        counts[how] += 1
        counts["to_review"] += decision.action == "review"
        counts["reviewed"] += closed
        counts["overridden"] += bool(ways)
        for way in ways:
            counts["dir:" + way] += 1

    def freeze(self) -> TrustReport:
        return TrustReport(
            self.decisions, dict(self.actions), self.closed, self.overridden, self.refused,
            {k: dict(v) for k, v in self.outputs.items()},
            tuple(_rule_figures(k, v) for k, v in sorted(self.rules.items())),
            tuple(_model_figures(k, v) for k, v in sorted(self.models.items())),
        )  # fmt: skip


def _events_by_decision(log: DecisionLog) -> dict[str, list[ReviewEvent]]:
    out: dict[str, list[ReviewEvent]] = {}
    for event in log.reviews():
        out.setdefault(event.decision_id, []).append(event)
    return out


def _rules_involved(record: DecisionRecord) -> Iterable[tuple[str, str]]:
    involved = {rule: "fired" for rule in record["fired"]}
    for firing in record["trace"]:
        if outcome_of(firing.get("kind", "rule"), firing["outcome"]) is Outcome.UNKNOWN:
            involved.setdefault(firing["rule"], "unknown")
    return involved.items()


def _rule_figures(rule: str, counts: Counter[str]) -> RuleFigures:
    dirs = {k[4:]: v for k, v in counts.items() if k.startswith("dir:")}
    return RuleFigures(
        rule, counts["fired"], counts["unknown"], counts["to_review"], counts["reviewed"],
        counts["overridden"], dirs,
    )  # fmt: skip


def _model_figures(model: str, calls: list[ModelCallRecord]) -> ModelFigures:
    no_answer: Counter[str] = Counter()
    values: list[float] = []
    for call in calls:
        reason = no_answer_reason(call)
        if reason is not None:
            no_answer[reason] += 1
        elif _is_number(call["value"]) or isinstance(call["value"], bool):
            values.append(float(call["value"]))
    times = [float(c["ms"]) for c in calls if _is_number(c["ms"])]
    versions = tuple(sorted({c["version"] for c in calls}))
    return ModelFigures(
        model, versions, len(calls), len(calls) - sum(no_answer.values()), dict(no_answer),
        _mean(values), _mean(times),
    )  # fmt: skip


def _rule_table(rules: Sequence[RuleFigures]) -> str:
    if not rules:
        return "Rules: none fired."
    head = ["rule", "fired", "unknown", "to review", "reviewed", "overridden",
            "raised", "lowered", "action up", "action down"]  # fmt: skip
    body = [
        [r.rule, str(r.fired), str(r.unknown), _with_rate(r.to_review, r.fired + r.unknown),
         str(r.reviewed), _with_rate(r.overridden, r.reviewed),
         *(str(r.directions.get(k, 0)) for k in ("raised", "lowered", "action up", "action down"))]
        for r in rules
    ]  # fmt: skip
    return "Rules\n" + _table(head, body)


def _model_table(models: Sequence[ModelFigures]) -> str:
    if not models:
        return "Models: no calls."
    head = ["model", "versions", "calls", "no answer", "by reason", "mean value", "mean ms"]
    body = [
        [m.model, ", ".join(m.versions), str(m.calls),
         _with_rate(sum(m.no_answer.values()), m.calls),
         ", ".join(f"{k} {v}" for k, v in sorted(m.no_answer.items())) or "-",
         _fmt(m.mean_value), _fmt(m.mean_ms)]
        for m in models
    ]  # fmt: skip
    return "Models\n" + _table(head, body)


def _table(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    return "\n".join(_row_text(row, widths) for row in [head, *body])


def _row_text(row: list[str], widths: list[int]) -> str:
    """The first column left-aligned (names), the others right-aligned (figures)."""
    cells = [row[0].ljust(widths[0])]
    cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
    return "  ".join(cells).rstrip()


def _with_rate(part: int, whole: int) -> str:
    rate = _rate(part, whole)
    return str(part) if rate is None else f"{part} ({rate:.0%})"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
