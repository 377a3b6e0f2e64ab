"""The decision log: the API both back-ends share, and ``open_log``.

Input: decision records with their facts, policy sources, review events.
Output: the same, read back (``LoggedDecision``, ``ReviewEvent``), and a consistent
snapshot of the hash chain for ``verify``.

A back-end (``sqlite.py``, ``postgres.py``) supplies only sessions: a ``write``
session holds the log's one writer lock, so sequence numbers and hashes are handed
out in order; ``read`` sessions are short; a ``snapshot`` session sees one consistent
state. Everything else (batching, resume, chaining, queries) lives here, once.
Each method holds a session only while it runs: generators read page by page, so no
transaction stays open while the caller's code runs.
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import os
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from types import MappingProxyType, TracebackType
from typing import Any, Protocol

from rulelang.store.chain import (
    GENESIS,
    ChainHead,
    ChainRow,
    ChainSnapshot,
    Orphan,
    link,
    payload_text,
)
from rulelang.store.errors import LogUnavailable, StoreError, UnknownDecision
from rulelang.store.records import (
    DECISION_COLUMNS,
    REVIEW_COLUMNS,
    LoggedDecision,
    NewReview,
    PolicySource,
    ReviewEvent,
    as_record,
    decision_from_row,
    decision_values,
    review_from_row,
    review_values,
    utc_now,
)
from rulelang.store.schema import (
    CHAINED_TABLES,
    DECISIONS,
    POLICIES,
    REVIEWS,
    SCHEMA_VERSION,
    Table,
    create_statements,
)

Row = tuple[Any, ...]
Guard = Callable[[LoggedDecision, list[ReviewEvent]], None]
PAGE = 1000
_ORPHANS = (
    "SELECT r.decision_id, MIN(r.seq) FROM reviews r LEFT JOIN decisions d "
    "ON d.decision_id = r.decision_id WHERE d.decision_id IS NULL "
    "GROUP BY r.decision_id ORDER BY 2"
)
# The first event that closes the review: ReviewEvent.closes, in SQL (keep them alike).
_STATUS = (
    "(SELECT r.kind FROM reviews r WHERE r.decision_id = d.decision_id "
    "AND (r.kind = 'approved' OR (r.kind = 'overridden' AND (d.review_by = '' "
    "OR r.role = d.review_by OR r.output = 'action'))) ORDER BY r.seq LIMIT 1)"
)


class Session(Protocol):
    """One transaction on the database. SQL uses ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]: ...

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...


class DuplicateRow(StoreError):
    """A back-end's unique constraint refused a row."""


class DecisionLog(ABC):
    """An append-only, hash-chained log of decisions, policies and reviews.

    One instance may be shared by threads (calls are serialised); open one per
    process. Any number of processes may write the same log at once.
    """

    dialect: str = ""
    batch_size: int = 5000

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()

    @abstractmethod
    def _session(self, mode: str) -> AbstractContextManager[Session]:
        """A transaction: mode "init" | "write" (exclusive) | "read" | "snapshot"."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self, mode: str) -> Iterator[Session]:
        with self._lock, self._session(mode) as session:
            yield session

    # -- set-up ------------------------------------------------------------------

    def _init_schema(self, create: bool) -> None:
        """Create the tables once; later openers only check the schema version.

        DDL runs only while no table exists, so it never takes locks that a writer
        holds (on PostgreSQL, re-running CREATE INDEX beside a writer can deadlock).
        """
        with self._tx("init") as s:
            if self._has_tables(s):
                self._check_version(s)
                return
            if not create:
                raise LogUnavailable(f"{self.url} is not a rulelang decision log")
            for statement in create_statements(self.dialect):
                s.execute(statement)
            s.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
            )
            s.execute("INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, ?)", (GENESIS,))

    @abstractmethod
    def _has_tables(self, session: Session) -> bool:
        """Whether this database already holds a log (the ``meta`` table)."""

    def _check_version(self, s: Session) -> None:
        found = s.fetchall("SELECT value FROM meta WHERE key = 'schema_version'")
        if found[0][0] != SCHEMA_VERSION:
            raise LogUnavailable(
                f"{self.url} has log schema version {found[0][0]}; "
                f"this rulelang reads version {SCHEMA_VERSION}"
            )

    # -- writing -----------------------------------------------------------------

    def add_policy(self, policy: PolicySource) -> bool:
        """Store a policy's source once per hash; False when it was already there."""
        with self._tx("write") as s:
            found = s.fetchall(
                "SELECT source FROM policies WHERE policy_hash = ?", (policy.policy_hash,)
            )
            if found and found[0][0] != policy.source:
                raise StoreError(
                    f"policy {policy.policy_hash} is already in the log with another source"
                )
            if found:
                return False
            values = (policy.policy_hash, policy.name, policy.version, policy.source, utc_now())
            self._chain(s, POLICIES, [values])
            return True

    def register_policy(self, policy_hash: str, name: str, version: str, source: str) -> bool:
        """``add_policy`` from its parts."""
        return self.add_policy(PolicySource(policy_hash, name, version, source))

    def append(self, decision: Any, facts: Any) -> int:
        """Append one decision (a ``Decision`` or its record) and its facts; returns its seq."""
        record = as_record(decision)
        values = decision_values(record, facts, None, None, utc_now())
        return self._write_chunk(None, [(None, values)])[-1]

    def append_many(
        self, run_id: str, rows: Iterable[tuple[int, Any, Any]], batch_size: int | None = None
    ) -> int:
        """Append (line, record, facts) rows of a run in large transactions.

        Lines already logged for ``run_id`` are skipped, so re-running a killed run
        with the same id finishes it without duplicates. Returns the rows written.
        """
        if not run_id:
            raise StoreError("a run needs a non-empty run id")
        written = 0
        for chunk in _chunks(rows, batch_size or self.batch_size):
            at = utc_now()
            prepared: list[tuple[int | None, Row]] = [
                (_line(line), decision_values(as_record(rec), facts, run_id, _line(line), at))
                for line, rec, facts in chunk
            ]
            written += len(self._write_chunk(run_id, prepared))
        return written

    def add_review(self, event: NewReview, guard: Guard | None = None) -> ReviewEvent:
        """Append a review event; ``guard`` may refuse it, seeing the decision and its
        events inside the writer lock (so two reviewers cannot both close an item)."""
        values = review_values(event, utc_now())
        with self._tx("write") as s:
            decision = self._get(s, event.decision_id)
            if decision is None:
                raise UnknownDecision(event.decision_id)
            if guard is not None:
                guard(decision, self._reviews(s, event.decision_id))
            seq = self._chain(s, REVIEWS, [values])[-1]
        return review_from_row((seq, *values))

    def _write_chunk(self, run_id: str | None, chunk: list[tuple[int | None, Row]]) -> list[int]:
        try:
            with self._tx("write") as s:
                fresh = self._not_done(s, run_id, chunk)
                return self._chain(s, DECISIONS, [values for _, values in fresh])
        except DuplicateRow as exc:
            raise self._duplicate_error([values for _, values in chunk], exc) from exc

    def _not_done(
        self, s: Session, run_id: str | None, chunk: list[tuple[int | None, Row]]
    ) -> list[tuple[int | None, Row]]:
        lines = [line for line, _ in chunk if line is not None]
        if run_id is None or not lines:
            return chunk
        if len(set(lines)) != len(lines):
            twice = sorted(n for n, k in Counter(lines).items() if k > 1)
            raise StoreError(f"run {run_id}: line(s) {twice[:5]} given more than once")
        done = {
            int(r[0])
            for r in s.fetchall(
                "SELECT line FROM decisions WHERE run_id = ? AND line BETWEEN ? AND ?",
                (run_id, min(lines), max(lines)),
            )
        }
        return [(line, values) for line, values in chunk if line not in done]

    def _duplicate_error(self, rows: list[Row], exc: DuplicateRow) -> StoreError:
        """Name the decision id that clashed (the constraint's message does not)."""
        twice = [i for i, k in Counter(row[0] for row in rows).items() if k > 1]
        if twice:
            return StoreError(f"decision {twice[0]} appears twice in one batch; ids are unique")
        place = {row[0]: (row[1], row[2]) for row in rows}
        with self._tx("read") as s:
            for start in range(0, len(rows), 500):
                ids = [row[0] for row in rows[start : start + 500]]
                marks = ", ".join("?" * len(ids))
                sql = "SELECT decision_id, seq, run_id, line FROM decisions WHERE decision_id IN"
                for did, seq, run, line in s.fetchall(f"{sql} ({marks})", ids):
                    if place[did] != (run, line):  # not merely this very row, logged before
                        return StoreError(f"decision {did} is already in the log (seq {seq}); "
                                          "decision ids are unique")  # fmt: skip
        return StoreError(f"the log refused a duplicate row: {exc}")

    def _chain(self, s: Session, table: Table, rows: Sequence[Row]) -> list[int]:
        """Link ``rows`` after the head, insert them and move the head; returns seqs."""
        head = self._head(s)
        stored: list[Row] = []
        prev, seq = head.hash, head.seq
        for values in rows:
            seq += 1
            prev_hash, prev = prev, link(prev, payload_text(table, seq, values))
            stored.append((seq, *values, prev_hash, prev))
        if stored:
            s.insert(table.name, table.stored_names, stored)
            s.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
        return [row[0] for row in stored]

    # -- reading -----------------------------------------------------------------

    def head(self) -> ChainHead:
        """The last sequence number and hash: publish it elsewhere as an anchor."""
        with self._tx("read") as s:
            return self._head(s)

    def get(self, decision_id: str) -> LoggedDecision | None:
        """The decision with this id, or None."""
        with self._tx("read") as s:
            return self._get(s, decision_id)

    def require(self, decision_id: str) -> LoggedDecision:
        """The decision with this id; raises ``UnknownDecision``."""
        found = self.get(decision_id)
        if found is None:
            raise UnknownDecision(decision_id)
        return found

    def done_lines(self, run_id: str) -> set[int]:
        """The input lines of ``run_id`` already logged."""
        with self._tx("read") as s:
            rows = s.fetchall("SELECT line FROM decisions WHERE run_id = ?", (run_id,))
        return {int(r[0]) for r in rows if r[0] is not None}

    def count(self) -> int:
        """How many decisions the log holds."""
        with self._tx("read") as s:
            return int(s.fetchall("SELECT COUNT(*) FROM decisions")[0][0])

    def policy_source(self, policy_hash: str) -> PolicySource | None:
        """The stored source of the policy with this hash, or None."""
        with self._tx("read") as s:
            rows = s.fetchall(
                "SELECT policy_hash, name, version, source FROM policies WHERE policy_hash = ?",
                (policy_hash,),
            )
        return PolicySource(*rows[0]) if rows else None

    def decisions(
        self,
        *,
        policy: str | None = None,
        run_id: str | None = None,
        action: str | None = None,
        review_by: str | None = None,
        with_facts: bool = True,
    ) -> Iterator[LoggedDecision]:
        """Decisions in log order, filtered by the arguments given (page by page)."""
        filters = {"policy": policy, "run_id": run_id, "action": action, "review_by": review_by}
        where = [(f"{k} = ?", v) for k, v in filters.items() if v is not None]
        columns = _decision_columns(with_facts)
        for row in self._pages("decisions", columns, where):
            yield decision_from_row(row)

    def reviews(self, decision_id: str | None = None) -> Iterator[ReviewEvent]:
        """Review events in log order, of one decision or of all."""
        where = [] if decision_id is None else [("decision_id = ?", decision_id)]
        for row in self._pages("reviews", ", ".join(REVIEW_COLUMNS), where):
            yield review_from_row(row)

    def queue(
        self, role: str | None = None, status: str = "open", limit: int | None = None
    ) -> list[tuple[LoggedDecision, str]]:
        """Decisions routed to review with their status: "open", "approved", "overridden".

        ``status`` filters: "open", "closed" or "all".
        """
        outer = {"open": "WHERE status IS NULL", "closed": "WHERE status IS NOT NULL", "all": ""}
        if status not in outer:
            raise StoreError(f"review status is open, closed or all, not {status!r}")
        params: list[Any] = [] if role is None else [role]
        inner = (
            f"SELECT {_decision_columns(False, 'd.')}, {_STATUS} AS status FROM decisions d "
            "WHERE d.action = 'review'" + ("" if role is None else " AND d.review_by = ?")
        )
        sql = f"SELECT * FROM ({inner}) q {outer[status]} ORDER BY seq"
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, limit]
        with self._tx("read") as s:
            rows = s.fetchall(sql, params)
        return [(decision_from_row(row[:-1]), row[-1] or "open") for row in rows]

    @contextmanager
    def chain_snapshot(self) -> Iterator[ChainSnapshot]:
        """A consistent view of the whole chain, for ``chain.verify``."""
        with self._tx("snapshot") as s:
            head = self._head(s)
            orphans = tuple(Orphan(str(d), int(q)) for d, q in s.fetchall(_ORPHANS))
            yield ChainSnapshot(head, _merged_rows(s), orphans)

    def _pages(self, table: str, columns: str, where: list[tuple[str, Any]]) -> Iterator[Row]:
        conds = " ".join(f"AND {cond}" for cond, _ in where)
        sql = f"SELECT {columns} FROM {table} WHERE seq > ? {conds} ORDER BY seq LIMIT ?"
        last = 0
        while True:
            with self._tx("read") as s:
                rows = s.fetchall(sql, [last, *(v for _, v in where), PAGE])
            yield from rows
            if len(rows) < PAGE:
                return
            last = int(rows[-1][0])

    def _head(self, s: Session) -> ChainHead:
        seq, digest = s.fetchall("SELECT seq, hash FROM chain_head WHERE id = 1")[0]
        return ChainHead(int(seq), str(digest))

    def _get(self, s: Session, decision_id: str) -> LoggedDecision | None:
        rows = s.fetchall(
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions WHERE decision_id = ?",
            (decision_id,),
        )
        return decision_from_row(rows[0]) if rows else None

    def _reviews(self, s: Session, decision_id: str) -> list[ReviewEvent]:
        rows = s.fetchall(
            f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews WHERE decision_id = ? ORDER BY seq",
            (decision_id,),
        )
        return [review_from_row(row) for row in rows]


class Opener(Protocol):
    """What a back-end module offers as ``open_url``: open the log at a path or URL."""

    def __call__(
        self, url: str, *, schema: str | None, create: bool, timeout: float
    ) -> DecisionLog: ...


# URL scheme ("" for a plain path) -> the back-end module whose ``open_url`` opens it.
# The back-ends import this module (for DecisionLog); this one only names them and
# imports the one a URL asks for, so the store has no import cycle and psycopg loads
# only for a PostgreSQL log.
BACKENDS: Mapping[str, str] = MappingProxyType(
    {
        "": "rulelang.store.sqlite",
        "sqlite": "rulelang.store.sqlite",
        "postgresql": "rulelang.store.postgres",
        "postgres": "rulelang.store.postgres",
    }
)


def open_log(
    target: str | os.PathLike[str],
    *,
    create: bool = True,
    schema: str | None = None,
    timeout: float = 60.0,
) -> DecisionLog:
    """Open a decision log by path or URL.

    A plain path or ``sqlite:///PATH`` opens SQLite (``sqlite:////abs/path`` for an
    absolute path); ``postgresql://...`` opens PostgreSQL, in ``schema`` (or the
    URL's ``?schema=NAME``) when given. ``create=False`` refuses to make a new log.
    ``timeout`` is how long a writer waits for another writer's lock, in seconds.
    """
    text = os.fspath(target)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    backend = BACKENDS.get(scheme)
    if backend is None:
        raise LogUnavailable(f"unknown log URL {text!r}: use a path, sqlite:/// or postgresql://")
    opener: Opener = importlib.import_module(backend).open_url
    return opener(text, schema=schema, create=create, timeout=timeout)


def _decision_columns(with_facts: bool, prefix: str = "") -> str:
    names = [f"{prefix}{c}" for c in DECISION_COLUMNS]
    if not with_facts:
        names[-1] = "'{}' AS facts"
    return ", ".join(names)


def _merged_rows(s: Session) -> Iterator[ChainRow]:
    def rows_of(table: Table) -> Iterator[ChainRow]:
        sql = f"SELECT {', '.join(table.stored_names)} FROM {table.name} ORDER BY seq"
        return (ChainRow.from_stored(table, row) for row in s.stream(sql))

    return heapq.merge(*(rows_of(t) for t in CHAINED_TABLES), key=lambda row: row.seq)


def _chunks(
    rows: Iterable[tuple[int, Any, Any]], size: int
) -> Iterator[list[tuple[int, Any, Any]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _line(line: Any) -> int:
    if isinstance(line, bool) or not isinstance(line, int) or line < 0:
        raise StoreError(f"an input line number is an int >= 0, not {line!r}")
    return line
