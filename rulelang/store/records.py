"""What the log stores and returns: rows in, frozen dataclasses out.

Input: decision records (``Decision`` or its ``DecisionRecord``), facts, review events.
Output: the hashed column values of a row (``decision_values``...), and from a
selected row the ``LoggedDecision`` / ``ReviewEvent`` that callers read.
``read_record`` checks a record that came from outside (a ``.jsonl`` file) for its shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from rulelang.decision import DecisionRecord, Override
from rulelang.store.codec import Encoded, canonical_json, loads
from rulelang.store.errors import StoreError
from rulelang.store.schema import DECISIONS, REVIEWS

REVIEW_KINDS = ("approved", "overridden", "refused")
DECISION_COLUMNS = ("seq", *DECISIONS.column_names)
REVIEW_COLUMNS = ("seq", *REVIEWS.column_names)
_REQUIRED = tuple(sorted(DecisionRecord.__required_keys__))
# The keys every trace entry and model call has (a shape check of records from outside).
_ENTRY_KEYS = {
    "trace": ("rule", "line", "outcome", "values", "changes"),
    "models": ("model", "version", "value", "confidence", "ms", "source"),
}


def utc_now() -> str:
    """The time a row is written: ISO 8601, UTC, microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class PolicySource:
    """A policy's source text, stored once per ``policy_hash``."""

    policy_hash: str
    name: str
    version: str
    source: str


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """A decision as the log holds it. Non-integer numbers read back as ``Decimal``."""

    seq: int
    decision_id: str
    run_id: str | None
    line: int | None
    policy: str
    version: str
    policy_hash: str
    action: str
    review_by: str
    model_versions: dict[str, str]
    at: str
    record: DecisionRecord
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewReview:
    """A review event about to be written (the log adds seq and time)."""

    decision_id: str
    kind: str
    person: str
    role: str
    output: str = ""
    old: Any = None
    new: Any = None
    note: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """A stored review event: an approval, an accepted override or a refused one."""

    seq: int
    decision_id: str
    kind: str
    person: str
    role: str
    output: str
    old: Any
    new: Any
    note: str
    message: str
    at: str

    def closes(self, review_by: str) -> bool:
        """Whether this event resolves the review of a decision queued for ``review_by``.

        An approval does (only the queue's role, or a role with a right over `action`,
        may approve), and so does an accepted override by the queue's role or of
        `action` (only a role with that right gets one accepted). An override of
        another output by another role answers that role's question, not the queue's:
        a price change by pricing does not settle a fraud review.
        """
        if self.kind == "approved":
            return True
        if self.kind != "overridden":
            return False
        return not review_by or self.role == review_by or self.output == "action"

    def to_dict(self) -> ReviewRecord:
        return {
            "seq": self.seq, "kind": self.kind, "person": self.person, "role": self.role,
            "output": self.output, "old": self.old, "new": self.new, "note": self.note,
            "message": self.message, "at": self.at,
        }  # fmt: skip

    def to_override(self) -> Override:
        """The ``Override`` this event records (``accepted`` False for a refusal)."""
        return Override(
            decision_id=self.decision_id,
            person=self.person,
            role=self.role,
            output=self.output,
            old=self.old,
            new=self.new,
            reason=self.note,
            accepted=self.kind == "overridden",
            refusal=self.message,
            at=self.at,
        )


class ReviewRecord(TypedDict):
    """A review event as JSON (``rulelang review show --json``'s history)."""

    seq: int
    kind: str  # "approved" | "overridden" | "refused"
    person: str
    role: str
    output: str
    old: Any
    new: Any
    note: str
    message: str
    at: str


def as_record(decision: Any) -> DecisionRecord:
    """A decision record from a ``Decision`` or a mapping, checked for its keys."""
    if isinstance(decision, EncodedRecord):
        record = _checked(decision.record)
        # The pre-encoded text rides along under a key no record has (see _TEXT).
        return record | {_TEXT: Encoded(decision.text)}  # type: ignore[return-value]
    return _checked(decision.to_dict() if hasattr(decision, "to_dict") else decision)


def read_record(value: Any) -> DecisionRecord:
    """A decision record that came from outside (a ``.jsonl`` line), checked for the
    shape ``Decision.to_dict`` writes; raises ``StoreError`` saying what is wrong."""
    record = _checked(value)
    raw: Mapping[str, Any] = record  # read by key name below, before it is trusted
    if not isinstance(raw["outputs"], Mapping):
        raise StoreError("its outputs are not an object")
    for key in ("reasons", "fired"):
        if not _is_list(raw[key]):
            raise StoreError(f"its {key} is not a list")
    for key, needed in _ENTRY_KEYS.items():
        if not _is_list(raw[key]) or not all(_has(e, needed) for e in raw[key]):
            raise StoreError(f"its {key} is not a list of objects with {', '.join(needed)}")
    if raw["error"] is not None and not _has(raw["error"], ("type",)):
        raise StoreError("its error is not an object with a type")
    return record


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _has(value: Any, keys: Sequence[str]) -> bool:
    return isinstance(value, Mapping) and all(k in value for k in keys)


_TEXT = "\ue000text"  # where as_record keeps a record's pre-encoded text


@dataclass(frozen=True, slots=True)
class EncodedRecord:
    """A decision record with the canonical JSON text its writer already made
    (``rulelang run`` writes that text to its output too): encoded once, not twice."""

    record: Mapping[str, Any]
    text: str


def _checked(record: Any) -> DecisionRecord:
    if not isinstance(record, Mapping):
        raise StoreError(f"a decision record is a mapping, not {type(record).__name__}")
    missing = [key for key in _REQUIRED if key not in record]
    if missing:
        raise StoreError(f"decision record lacks {', '.join(missing)}: {dict(record)!r:.200}")
    checked: DecisionRecord = dict(record)  # type: ignore[assignment]
    return checked


def decision_values(
    record: DecisionRecord, facts: Any, run_id: str | None, line: int | None, at: str
) -> tuple[Any, ...]:
    """The hashed column values of a decision row, in ``DECISIONS.columns`` order."""
    try:
        record_text = _encoded_text(record) or canonical_json(record)
        facts_text = canonical_json(facts)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"decision {record['id']}: cannot store it: {exc}") from exc
    return (
        str(record["id"]), run_id, line, str(record["policy"]), str(record["version"]),
        str(record["policy_hash"]), str(record["action"]), str(record["review_by"] or ""),
        canonical_json(model_versions(record)), at, record_text, facts_text,
    )  # fmt: skip


def _encoded_text(record: Mapping[str, Any]) -> str | None:
    text = record.get(_TEXT)
    return text if isinstance(text, Encoded) else None


def model_versions(record: DecisionRecord) -> dict[str, str]:
    """Model name to version, for every model call in the record."""
    return {str(c["model"]): str(c["version"]) for c in record["models"]}


def review_values(event: NewReview, at: str) -> tuple[Any, ...]:
    """The hashed column values of a review row, in ``REVIEWS.columns`` order."""
    if event.kind not in REVIEW_KINDS:
        raise StoreError(f"unknown review kind {event.kind!r}")
    try:
        old, new = canonical_json(event.old), canonical_json(event.new)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot store the value of {event.output}: {exc}") from exc
    return (
        event.decision_id, event.kind, event.person, event.role, event.output,
        old, new, event.note, event.message, at,
    )  # fmt: skip


def decision_from_row(row: Sequence[Any]) -> LoggedDecision:
    """From a row selected as ``DECISION_COLUMNS``."""
    seq, did, run_id, line, policy, version, phash, action, review_by, mv, at, rec, facts = row
    return LoggedDecision(
        seq=int(seq), decision_id=did, run_id=run_id, line=None if line is None else int(line),
        policy=policy, version=version, policy_hash=phash, action=action, review_by=review_by,
        model_versions=loads(mv), at=at, record=loads(rec), facts=loads(facts),
    )  # fmt: skip


def review_from_row(row: Sequence[Any]) -> ReviewEvent:
    """From a row selected as ``REVIEW_COLUMNS``."""
    seq, did, kind, person, role, output, old, new, note, message, at = row
    return ReviewEvent(
        int(seq), did, kind, person, role, output, loads(old), loads(new), note, message, at
    )
