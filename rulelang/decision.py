"""Decisions and their trace: the output of ``CompiledPolicy.decide``.

Everything here is frozen and renders to the JSON decision record of LANGUAGE.md
(``Decision.to_dict``). ``Decimal`` values (money, percent) render as JSON numbers
through ``float`` only at the edge, in ``to_json``; ``to_dict`` keeps them exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from ulid import ULID

ACTIONS = ("allow", "review", "block")


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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
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
    outcome: str  # "fired" | "skipped" | "unknown" | "held" | "unsatisfiable"
    values: dict[str, Any] = {}  # noqa: RUF012 -- never mutated; NamedTuple defaults
    changes: Mapping[str, list[Any]] = NO_CHANGES
    kind: str = "rule"  # "rule" | "ensure"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "line": self.line, "outcome": self.outcome}
        if self.kind != "rule":
            out["kind"] = self.kind
        out["values"] = self.values
        out["changes"] = dict(self.changes)
        return out


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
    error: dict[str, Any] | None = None
    stamp_ns: int = 0
    nonce: int = 0

    @property
    def id(self) -> str:
        """A ULID, rendered on demand: minting one costs more than a whole decision."""
        raw = (self.stamp_ns // 1_000_000).to_bytes(6, "big") + (self.nonce % 2**80).to_bytes(
            10, "big"
        )
        return str(ULID.from_bytes(raw))

    def to_dict(self) -> dict[str, Any]:
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
            "error": self.error,
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
