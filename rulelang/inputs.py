"""Reading facts: a JSONL or CSV file -> numbered records, bad lines named.

Used by ``rulelang run``, ``rulelang diff`` and every later reader of fact files.
Each record comes with its physical line number and either the facts or the
reason it could not be read; the raw JSON text is kept so the log stores the
input verbatim. Nothing is held in memory beyond the record in hand.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rulelang import ir

Line = tuple[int, Any, str | None, str | None]  # (line number, facts, error, raw JSON text)


def chunks(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_facts(path: Path, policy: ir.Policy) -> Iterator[Line]:
    """(line number, facts, error) for each record of a JSONL or CSV file."""
    single = policy.facts[0].name if len(policy.facts) == 1 else None
    if path.suffix.lower() == ".csv":
        kinds = {(f.name, x.name): x.type.kind for f in policy.facts for x in f.fields}
        yield from _read_csv(path, single, kinds)
        return
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, None, f"not JSON: {exc.msg} at column {exc.colno}", None
                continue
            wrapped = _wrap(record, single)
            # The input line is the facts' JSON as given: the log keeps it verbatim.
            yield number, wrapped, None, text.strip() if wrapped is record else None


def _wrap(record: Any, single: str | None) -> Any:
    """A flat record for a policy with one facts block is that block's fields."""
    if single and isinstance(record, dict) and single not in record:
        return {single: record}
    return record


def _read_csv(path: Path, single: str | None, kinds: dict[tuple[str, str], str]) -> Iterator[Line]:
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            record: dict[str, Any] = {}
            for column, value in row.items():
                if value in ("", None):
                    continue  # an empty cell is a missing (optional) field
                block, _, field = (column or "").rpartition(".")
                if not block and single:
                    block = single
                kind = kinds.get((block, field), "text")
                record.setdefault(block, {})[field] = _csv_cell(kind, value)
            yield number, record, None, None


def _csv_cell(kind: str, cell: str) -> Any:
    """A CSV cell is text: typed for bool, int and number fields; if it does not read as
    one, it stays text, for the validator to reject with its line."""
    text = cell.strip()
    try:
        if kind == "bool":
            return {"true": True, "false": False}.get(text.lower(), cell)
        return int(text) if kind == "int" else float(text) if kind == "number" else cell
    except ValueError:
        return cell


def count_records(path: Path) -> int:
    """About how many records a file holds (its non-blank lines, less a CSV header):
    one fast pass over the bytes, for a progress bar's total."""
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            count += bool(line.strip())
    return max(0, count - 1) if path.suffix.lower() == ".csv" else count
