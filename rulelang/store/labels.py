"""Overrides as signal: reviewed decisions as a training table.

Input: a ``DecisionLog``. Output: one row per decision a person approved or
overrode, written as CSV, JSONL or Parquet. Columns, in order:

* ``decision_id``, ``logged_at``, ``policy``, ``policy_version``, ``policy_hash``
* the facts, flattened: ``item.base_price``, ``customer.tier``...
  (``facts.`` is put in front when a facts block is called policy, label or model)
* ``model.NAME.value`` / ``.confidence`` / ``.version`` / ``.source`` / ``.reason``
  (a second call of the same model is ``model.NAME#2.value``...)
* ``policy.action``, ``policy.review_by``, ``policy.reasons`` and ``policy.OUTPUT``:
  what the policy decided
* ``label.action`` and ``label.OUTPUT``: what stands after the people's verdict (an
  approval keeps the policy's values; an override replaces one)
* ``routed_to_review``: whether a rule sent it to review. Reviewed rows are not a
  random sample: weight or model this selection when training on them.
* ``outcome`` ("approved" | "overridden"), ``overridden_outputs``, ``person``,
  ``role``, ``reason``, ``reviewed_at``: the verdict of the last person who closed it.

A decision is a row once its review is closed (``ReviewEvent.closes``): an override of
another output by another role (a price change on a fraud review) is in the row's
``label.*`` columns, but does not make the row by itself.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from rulelang.decision import DecisionRecord, ModelCallRecord
from rulelang.store.codec import canonical_json
from rulelang.store.errors import StoreError
from rulelang.store.explain import flatten
from rulelang.store.log import DecisionLog
from rulelang.store.records import LoggedDecision, ReviewEvent
from rulelang.store.review import effective_record

FORMATS = ("csv", "jsonl", "parquet")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_RESERVED = ("policy", "label", "model", "facts")
_HEAD = ("decision_id", "logged_at", "policy", "policy_version", "policy_hash")
_TAIL = (
    "routed_to_review", "outcome", "overridden_outputs", "person", "role", "reason", "reviewed_at",
)  # fmt: skip

Row = dict[str, Any]


def export_labels(
    log: DecisionLog, path: str | os.PathLike[str], format: str | None = None,
    policy: str | None = None,
) -> int:  # fmt: skip
    """Write the label table to ``path`` (format from the suffix when not given).

    Returns the number of rows. The file is replaced only once it is complete.
    """
    fmt = format or _SUFFIXES.get(Path(path).suffix.lower())
    if fmt not in FORMATS:
        raise StoreError(f"label format is one of {', '.join(FORMATS)}, not {format!r}")
    writer = _parquet_writer() if fmt == "parquet" else _WRITERS[fmt]
    rows = list(label_rows(log, policy))
    _replace(Path(path), lambda out: writer(out, rows, columns_of(rows)))
    return len(rows)


def label_rows(log: DecisionLog, policy: str | None = None) -> Iterator[Row]:
    """One row per decision whose review is closed, in the order of their first review."""
    for decision_id, events in _accepted(log).items():
        decision = log.require(decision_id)
        if (policy is None or decision.policy == policy) and _closing(decision, events):
            yield label_row(decision, events)


def label_row(decision: LoggedDecision, events: Sequence[ReviewEvent]) -> Row:
    """The training row of one closed decision and its approvals/accepted overrides."""
    record = decision.record
    row: Row = {
        "decision_id": decision.decision_id, "logged_at": decision.at, "policy": decision.policy,
        "policy_version": decision.version, "policy_hash": decision.policy_hash,
    }  # fmt: skip
    row.update(_facts_columns(decision.facts))
    row.update(_model_columns(record["models"]))
    row.update(_decision_columns("policy", record))
    row.update(_decision_columns("label", effective_record(record, events)))
    row.update(_verdict_columns(record, events, _closing(decision, events)))
    return row


def columns_of(rows: Sequence[Row]) -> list[str]:
    """Every column, the fixed ones first, the others in the order first seen."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(k for k in row if k not in _HEAD and k not in _TAIL))
    return [*_HEAD, *seen, *_TAIL]


def _accepted(log: DecisionLog) -> dict[str, list[ReviewEvent]]:
    """Approvals and accepted overrides by decision, in log order (refusals change nothing)."""
    out: dict[str, list[ReviewEvent]] = {}
    for event in log.reviews():
        if event.kind != "refused":
            out.setdefault(event.decision_id, []).append(event)
    return out


def _closing(decision: LoggedDecision, events: Sequence[ReviewEvent]) -> list[ReviewEvent]:
    return [e for e in events if e.closes(decision.review_by)]


def _facts_columns(facts: Mapping[str, Any]) -> Row:
    clash = any(k in _RESERVED for k in facts)
    return flatten(facts, "facts." if clash else "")


def _model_columns(calls: Sequence[ModelCallRecord]) -> Row:
    out: Row = {}
    seen: dict[str, int] = {}
    for call in calls:
        name = call["model"]
        seen[name] = seen.get(name, 0) + 1
        key = f"model.{name}" + ("" if seen[name] == 1 else f"#{seen[name]}")
        out[f"{key}.value"] = call["value"]
        out[f"{key}.confidence"] = call["confidence"]
        out[f"{key}.version"] = call["version"]
        out[f"{key}.source"] = call["source"]
        out[f"{key}.reason"] = call.get("reason")
    return out


def _decision_columns(prefix: str, record: DecisionRecord) -> Row:
    out: Row = {f"{prefix}.action": record["action"]}
    if prefix == "policy":
        out["policy.review_by"] = record["review_by"]
        out["policy.reasons"] = "; ".join(dict.fromkeys(record["reasons"]))
    for name, value in record["outputs"].items():
        out[f"{prefix}.{name}"] = value
    return out


def _verdict_columns(
    record: DecisionRecord, events: Sequence[ReviewEvent], closing: Sequence[ReviewEvent]
) -> Row:
    overridden = [e.output for e in events if e.kind == "overridden"]
    last = closing[-1]
    return {
        "routed_to_review": record["action"] == "review",
        "outcome": "overridden" if overridden else "approved",
        "overridden_outputs": ",".join(dict.fromkeys(overridden)),
        "person": last.person,
        "role": last.role,
        "reason": last.note,
        "reviewed_at": last.at,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float, Decimal)):
        return str(value)
    return canonical_json(value)


def _write_csv(out: Path, rows: Sequence[Row], columns: list[str]) -> None:
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def _write_jsonl(out: Path, rows: Sequence[Row], columns: list[str]) -> None:
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(canonical_json({c: row.get(c) for c in columns}) + "\n")


Writer = Callable[[Path, Sequence[Row], list[str]], None]
_WRITERS: dict[str, Writer] = {"csv": _write_csv, "jsonl": _write_jsonl}


def _parquet_writer() -> Writer:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise StoreError("Parquet export needs pyarrow: pip install pyarrow") from exc

    def write(out: Path, rows: Sequence[Row], columns: list[str]) -> None:
        arrays = {c: _arrow_column(pa, [row.get(c) for row in rows]) for c in columns}
        pq.write_table(pa.table(arrays), str(out))

    return write


def _arrow_column(pa: Any, values: list[Any]) -> Any:
    """Numbers become float64 (int64 when all are ints), bools bool, the rest text."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, type=pa.bool_())
    numeric = all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in present)
    if present and numeric and all(isinstance(v, int) for v in present):
        return pa.array(values, type=pa.int64())
    if present and numeric:
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    return pa.array([None if v is None else _cell(v) for v in values], type=pa.string())


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file beside ``path``, then move it into place."""
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".labels-", delete=False) as f:
            temp = Path(f.name)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc}") from exc
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
