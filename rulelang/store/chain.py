"""The hash chain: how rows are linked, and how a chain is checked.

Input: chained rows in sequence order (``ChainRow``) and the chain head.
Output: a ``VerifyReport`` naming every row that was changed, removed or inserted.

Each row's hash is ``sha256(prev_hash + canonical_json(payload))`` where the payload
is the row's table name, its sequence number and every hashed column as stored
(see ``payload_text``). The
first row links to ``GENESIS``. Editing a row breaks its own hash; rewriting its
hash too breaks the next row's link; deleting rows leaves a gap in the sequence;
adding a row gives a duplicate sequence number or one past the head. A writer who
rewrites the whole chain from some row on, head included, is caught only by an
anchor: a (seq, hash) pair published elsewhere earlier (``verify(log, anchor)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Protocol

from rulelang.store.codec import plain_json
from rulelang.store.schema import Table

GENESIS = "0" * 64


def link(prev_hash: str, payload: str) -> str:
    """The hash of a row whose payload text is ``payload``."""
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def payload_text(table: Table, seq: int, values: Sequence[Any]) -> str:
    """The canonical JSON of a row's payload, ``[header, json_column, ...]``.

    The header object holds the table name, ``seq`` and every plain column; the JSON
    columns follow as JSON values, in schema order. Their stored text is already
    canonical, so it is spliced in as it is: nothing is parsed or escaped again.
    """
    header: dict[str, str | int | bool | None] = {"table": table.name, "seq": seq}
    blobs: list[str] = []
    for column, value in zip(table.columns, values, strict=True):
        if column.kind == "json":
            blobs.append("null" if value is None else str(value))
        else:
            header[column.name] = value
    return "[" + ",".join([plain_json(header), *blobs]) + "]"


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last sequence number written and its hash (0 and GENESIS when empty)."""

    seq: int
    hash: str

    def render(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        """Read ``SEQ:HASH`` as printed by ``render``; raises ``ValueError``."""
        seq, sep, digest = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64:
            raise ValueError(f"an anchor is SEQ:HASH (64 hex digits), not {text!r}")
        return cls(int(seq), digest.lower())


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One stored row as the chain sees it."""

    table: Table
    seq: int
    values: tuple[Any, ...]
    prev_hash: str
    hash: str

    @classmethod
    def from_stored(cls, table: Table, stored: Sequence[Any]) -> ChainRow:
        """From a row selected as ``table.stored_names``."""
        return cls(table, int(stored[0]), tuple(stored[1:-2]), str(stored[-2]), str(stored[-1]))

    @property
    def subject(self) -> str:
        return str(self.values[self.table.column_names.index(self.table.subject)])

    def content_ok(self) -> bool:
        return self.hash == link(self.prev_hash, payload_text(self.table, self.seq, self.values))


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``kind`` is "changed", "removed" or "inserted"."""

    kind: str
    seq: int
    last_seq: int
    table: str
    subject: str
    detail: str

    def render(self) -> str:
        where = (
            f"seq {self.seq}" if self.seq == self.last_seq else f"seq {self.seq}..{self.last_seq}"
        )
        if self.seq == 0:
            where = "seq ?"
        about = f" {self.table} {self.subject}".rstrip() if self.table else ""
        return f"{self.kind:<8} {where}{about}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seq": self.seq,
            "last_seq": self.last_seq,
            "table": self.table,
            "subject": self.subject,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of checking a chain: ``ok`` when there are no problems."""

    rows: int
    head: ChainHead
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = [f"checked {self.rows} rows; chain head {self.head.render()}"]
        lines += [p.render() for p in self.problems]
        verdict = (
            "ok: the chain is intact" if self.ok else f"FAILED: {len(self.problems)} problem(s)"
        )
        return "\n".join([*lines, verdict])

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": {"seq": self.head.seq, "hash": self.head.hash},
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class Orphan:
    """A review whose decision row is missing: evidence of a removed decision."""

    decision_id: str
    review_seq: int


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    """A consistent read of the whole chain, as a log back-end provides it."""

    head: ChainHead
    rows: Iterator[ChainRow]
    orphans: tuple[Orphan, ...]


class Chained(Protocol):
    """What ``verify`` needs from a log."""

    def chain_snapshot(self) -> AbstractContextManager[ChainSnapshot]: ...


def verify(log: Chained, anchor: ChainHead | None = None) -> VerifyReport:
    """Recompute the whole chain of ``log`` and report what does not fit."""
    with log.chain_snapshot() as snap:
        return check_chain(snap.rows, snap.head, snap.orphans, anchor)


def check_chain(
    rows: Iterable[ChainRow],
    head: ChainHead,
    orphans: Iterable[Orphan] = (),
    anchor: ChainHead | None = None,
) -> VerifyReport:
    """Check rows given in ascending ``seq`` order against each other and the head."""
    walk = _Walk(head, anchor)
    for _, group in groupby(rows, key=lambda row: row.seq):
        walk.step(list(group))
    walk.finish()
    for orphan in orphans:
        detail = f"the decision row is gone; the review at seq {orphan.review_seq} refers to it"
        walk.problems.append(Problem("removed", 0, 0, "decisions", orphan.decision_id, detail))
    return VerifyReport(walk.count, head, tuple(walk.problems))


@dataclass
class _Walk:
    """The state of one pass over the chain (local to ``check_chain``)."""

    head: ChainHead
    anchor: ChainHead | None
    problems: list[Problem] = field(default_factory=list)
    prev: ChainRow | None = None
    expected: int = 1
    count: int = 0
    anchor_seen: bool = False

    @property
    def prev_hash(self) -> str:
        return self.prev.hash if self.prev is not None else GENESIS

    def step(self, group: list[ChainRow]) -> None:
        self.count += len(group)
        seq = group[0].seq
        if seq < 1 or seq > self.head.seq:
            where = "below 1" if seq < 1 else f"past the chain head (seq {self.head.seq})"
            for row in group:
                self.flag("inserted", row, f"its sequence number is {where}")
            return
        row, extras = _pick(group, self.prev_hash)
        for extra in extras:
            self.flag("inserted", extra, f"a second row with sequence number {seq}")
        gap = seq > self.expected
        if gap:
            self.removed(
                self.expected, seq - 1, f"rows missing; seq {seq} links to a row that is gone"
            )
        self.check_row(row, gap)
        self.prev, self.expected = row, seq + 1

    def check_row(self, row: ChainRow, gap: bool) -> None:
        if not row.content_ok():
            self.flag("changed", row, "its content no longer matches its hash")
        elif not gap and row.prev_hash != self.prev_hash and self.prev is not None:
            self.flag(
                "changed", self.prev, "its hash was rewritten: the next row no longer links to it"
            )
        if self.anchor is not None and row.seq == self.anchor.seq:
            self.anchor_seen = True
            if row.hash != self.anchor.hash:
                self.flag(
                    "changed", row, "its hash differs from the anchor: the chain was rewritten"
                )

    def finish(self) -> None:
        if self.expected <= self.head.seq:
            self.removed(self.expected, self.head.seq, "rows missing at the end of the chain")
        elif self.prev is not None and self.prev.hash != self.head.hash and self.prev.content_ok():
            self.flag("changed", self.prev, "its hash differs from the chain head's")
        if self.anchor is not None and not self.anchor_seen:
            self.removed(self.anchor.seq, self.anchor.seq, "the anchored row is not in the log")

    def flag(self, kind: str, row: ChainRow, detail: str) -> None:
        self.problems.append(Problem(kind, row.seq, row.seq, row.table.name, row.subject, detail))

    def removed(self, first: int, last: int, detail: str) -> None:
        self.problems.append(Problem("removed", first, last, "", "", detail))


def _pick(group: list[ChainRow], prev_hash: str) -> tuple[ChainRow, list[ChainRow]]:
    """Of rows sharing a sequence number, the one that belongs in the chain, and the rest."""

    def fits(row: ChainRow) -> tuple[bool, bool]:
        return (row.content_ok() and row.prev_hash == prev_hash, row.content_ok())

    best = max(group, key=fits)  # max keeps the first of equals
    return best, [row for row in group if row is not best]
