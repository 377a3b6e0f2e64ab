"""Decisions and their trace: the output of ``CompiledPolicy.decide``.

Everything here is frozen and renders to the JSON decision record of LANGUAGE.md
(``Decision.to_dict``). ``Decimal`` values (money, percent) render as JSON numbers
through ``float`` only at the edge, in ``to_json``; ``to_dict`` keeps them exact.

The record's shape is declared once, here, as TypedDicts (``DecisionRecord`` and the
records inside it); the store, ``explain``, ``report``, ``diff``, coverage and the
label export read records through them. A record read back from JSON is trusted to
have this shape: it is what ``to_dict`` wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict, cast

from ulid import ULID

ACTIONS = ("allow", "review", "block")
RESERVED_OUTPUTS = ("action", "reasons", "review_by")  # built in: never declared


class Outcome(StrEnum):
    """What a rule or constraint did in one decision: a closed set.

    A rule fired (its `then` ran), was skipped (its condition was false) or was
    unknown (a model had no answer: its `if unknown` branch, if any, ran). A constraint
    held, stepped in (its `otherwise` ran) or was unsatisfiable (still broken after
    every constraint ran, so the decision was blocked). Each member equals its text,
    so a record read back from JSON compares equal to the member.
    """

    FIRED = "fired"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"
    HELD = "held"
    STEPPED_IN = "stepped_in"
    UNSATISFIABLE = "unsatisfiable"


RULE_OUTCOMES = (Outcome.FIRED, Outcome.SKIPPED, Outcome.UNKNOWN)
ENSURE_OUTCOMES = (Outcome.HELD, Outcome.STEPPED_IN, Outcome.UNSATISFIABLE)
_OUTCOME_OF_TEXT: dict[str, Outcome] = {o.value: o for o in Outcome}


def outcome_of(kind: str, outcome: str) -> Outcome | None:
    """The ``Outcome`` of a trace entry of ``kind`` ("rule" or "ensure"), None for text
    that is no outcome (a hand-edited record).

    A constraint whose `otherwise` ran is recorded as "fired" by logs written before
    ``STEPPED_IN`` existed: it is read as stepped in, so old logs read the same.
    """
    found = _OUTCOME_OF_TEXT.get(outcome)
    if found is Outcome.FIRED and kind == "ensure":
        return Outcome.STEPPED_IN
    return found


# ---- the decision record ---------------------------------------------------------------

BAD_FACTS: Literal["bad_facts"] = "bad_facts"  # the facts failed validation: no rule ran
EVALUATION: Literal["evaluation"] = "evaluation"  # a rule's code failed (division by zero)
ErrorType = Literal["bad_facts", "evaluation"]


class ModelCallRecord(TypedDict):
    """One model call in a decision record (``ModelCall.to_dict``)."""

    model: str
    version: str
    value: Any
    confidence: float | None
    ms: float
    source: str  # "model" | "cache" | "fallback" | "test" | "none"
    reason: NotRequired[str]  # why there was no answer
    args: NotRequired[str]
    detail: NotRequired[dict[str, Any]]


class FiringRecord(TypedDict):
    """One rule or constraint on the explain path (``Firing.to_dict``)."""

    rule: str
    line: int
    outcome: Outcome
    kind: NotRequired[Literal["ensure"]]  # absent for a rule
    values: dict[str, Any]  # what it read, by label (`item.cost`, `price`, a model call)
    changes: dict[str, list[Any]]  # output -> [before, after]


class FactIssueRecord(TypedDict):
    """One bad field of rejected facts."""

    path: str  # `item.stock`; empty when the facts as a whole are wrong
    expected: str  # the declared domain: `int in 0 .. 100000`
    got: str  # what came (`nothing` when the field is missing)


class ErrorRecord(TypedDict):
    """Why a decision was blocked without being decided; ``type`` says which kind."""

    type: ErrorType
    issues: NotRequired[list[FactIssueRecord]]  # bad_facts: every bad field
    message: NotRequired[str]  # evaluation: what failed
    rule: NotRequired[str]  # evaluation: the rule or constraint whose code failed
    output: NotRequired[str]  # evaluation: the output whose starting value failed
    line: NotRequired[int]  # evaluation: that output's line


class DecisionRecord(TypedDict):
    """The decision record of LANGUAGE.md (``Decision.to_dict``)."""

    id: str
    policy: str
    version: str
    policy_hash: str
    action: str  # "allow" | "review" | "block"
    outputs: dict[str, Any]
    reasons: list[str]
    review_by: str
    fired: list[str]
    trace: list[FiringRecord]
    models: list[ModelCallRecord]
    error: ErrorRecord | None


class OverrideRecord(TypedDict):
    """A person's change to one output, accepted or refused (``Override.to_dict``)."""

    decision_id: str
    person: str
    role: str
    output: str
    old: Any
    new: Any
    reason: str
    accepted: bool
    refusal: str
    at: str


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One model call as the trace records it."""

    model: str
    version: str
    value: Any
    confidence: float | None
    ms: float
    source: str  # "model" | "cache" | "fallback" | "test" | "none"
    reason: str | None = None  # why there was no answer: error, timeout, nan, ...
    args: str | None = None  # a short rendering (or hash) of the arguments
    detail: dict[str, Any] | None = None

    def to_dict(self) -> ModelCallRecord:
        out: ModelCallRecord = {
            "model": self.model,
            "version": self.version,
            "value": self.value,
            "confidence": self.confidence,
            "ms": round(self.ms, 4),
            "source": self.source,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        if self.args is not None:
            out["args"] = self.args
        if self.detail is not None:
            out["detail"] = self.detail
        return out


# The changes of every rule that changed nothing: shared, so read-only.
NO_CHANGES: Mapping[str, list[Any]] = MappingProxyType({})


class Firing(NamedTuple):
    """One rule or constraint on the explain path: what it read and what it changed.

    A NamedTuple rather than a frozen dataclass: the explain path makes one per
    rule per decision, and a frozen dataclass costs five times as much to build.
    """

    rule: str
    line: int
    # An Outcome; the back-ends may pass its text, which equals it (to_dict makes it one).
    outcome: Outcome | str
    values: dict[str, Any] = {}  # noqa: RUF012 -- never mutated; NamedTuple defaults
    changes: Mapping[str, list[Any]] = NO_CHANGES
    kind: str = "rule"  # "rule" | "ensure"

    def to_dict(self) -> FiringRecord:
        outcome = _OUTCOME_OF_TEXT[self.outcome]
        if self.kind == "rule":
            return {"rule": self.rule, "line": self.line, "outcome": outcome,
                    "values": self.values, "changes": dict(self.changes)}  # fmt: skip
        return {"rule": self.rule, "line": self.line, "outcome": outcome, "kind": "ensure",
                "values": self.values, "changes": dict(self.changes)}  # fmt: skip


class Decision(NamedTuple):
    """A decision and its trace. ``error`` is set (and action is block) when the facts
    were bad or evaluation failed.

    Immutable. A NamedTuple rather than a frozen dataclass: building a frozen
    dataclass of 13 fields cost 1.3 us, more than deciding the 21-rule benchmark
    policy; a NamedTuple costs 0.2 us (see docs/design.md).
    """

    policy: str
    version: str
    policy_hash: str
    action: str
    outputs: dict[str, Any]
    reasons: tuple[str, ...]
    review_by: str
    fired: tuple[str, ...]
    trace: tuple[Firing, ...] = ()
    models: tuple[ModelCall, ...] = ()
    error: dict[str, Any] | None = None  # an ErrorRecord
    stamp_ns: int = 0
    nonce: int = 0

    @property
    def id(self) -> str:
        """A ULID, rendered on demand: minting one costs more than a whole decision."""
        raw = (self.stamp_ns // 1_000_000).to_bytes(6, "big") + (self.nonce % 2**80).to_bytes(
            10, "big"
        )
        return str(ULID.from_bytes(raw))

    def to_dict(self) -> DecisionRecord:
        """The decision record of LANGUAGE.md, with exact Decimal values kept."""
        return {
            "id": self.id,
            "policy": self.policy,
            "version": self.version,
            "policy_hash": self.policy_hash,
            "action": self.action,
            "outputs": dict(self.outputs),
            "reasons": list(self.reasons),
            "review_by": self.review_by,
            "fired": list(self.fired),
            "trace": [f.to_dict() for f in self.trace],
            "models": [m.to_dict() for m in self.models],
            # program.py builds the error as a plain dict of ErrorRecord's shape.
            "error": cast("ErrorRecord | None", self.error),
        }

    def to_json(self) -> str:
        """One line of JSON; money and percent become JSON numbers."""
        return json.dumps(self.to_dict(), default=json_default, separators=(", ", ": "))


def json_default(value: Any) -> Any:
    """JSON for the values a decision holds: Decimal becomes a number."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(frozen=True, slots=True)
class OverrideCheck:
    """The policy's verdict on a proposed override (``CompiledPolicy.check_override``).

    ``value`` is the proposed value converted to the output's type when accepted;
    ``message`` says why it was refused (empty when accepted).
    """

    accepted: bool
    message: str
    value: Any = None
    bounds: tuple[Any, Any] | None = None


@dataclass(frozen=True, slots=True)
class Override:
    """A person's change to one output of a logged decision, accepted or refused."""

    decision_id: str
    person: str
    role: str
    output: str
    old: Any
    new: Any
    reason: str
    accepted: bool
    refusal: str = ""
    at: str = ""

    def to_dict(self) -> OverrideRecord:
        return {
            "decision_id": self.decision_id,
            "person": self.person,
            "role": self.role,
            "output": self.output,
            "old": self.old,
            "new": self.new,
            "reason": self.reason,
            "accepted": self.accepted,
            "refusal": self.refusal,
            "at": self.at,
        }
