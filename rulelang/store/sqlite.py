"""The embedded back-end: one SQLite file in WAL mode, nothing to start.

Input: a path. Output: a ``DecisionLog`` whose writers take SQLite's write lock
with ``BEGIN IMMEDIATE`` and wait for each other up to ``timeout`` (busy_timeout).
WAL lets readers run beside a writer; ``synchronous=FULL`` makes each committed
batch durable before ``append_many`` moves on. A writer killed mid-batch leaves its
transaction uncommitted, and SQLite discards it on the next open.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rulelang.store.errors import LogUnavailable, StoreError
from rulelang.store.log import DecisionLog, DuplicateRow, Row, Session

_BEGIN = {
    "init": "BEGIN IMMEDIATE",
    "write": "BEGIN IMMEDIATE",
    "read": "BEGIN",
    "snapshot": "BEGIN",
}


class SqliteSession:
    """A transaction on one SQLite connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        return iter(self._conn.execute(sql, params))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join("?" * len(columns))
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class SqliteLog(DecisionLog):
    """A decision log in one SQLite file."""

    dialect = "sqlite"

    def __init__(self, url: str, conn: sqlite3.Connection) -> None:
        super().__init__(url)
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _session(self, mode: str) -> Iterator[SqliteSession]:
        try:
            self._conn.execute(_BEGIN[mode])
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.url}: cannot start a transaction: {exc}") from exc
        try:
            yield SqliteSession(self._conn)
        except sqlite3.IntegrityError as exc:
            self._conn.execute("ROLLBACK")
            raise DuplicateRow(str(exc)) from exc
        except sqlite3.Error as exc:
            self._conn.execute("ROLLBACK")
            raise StoreError(f"{self.url}: {exc}") from exc
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._commit()

    def _commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._conn.execute("ROLLBACK")
            raise StoreError(f"{self.url}: cannot commit: {exc}") from exc

    def _has_tables(self, session: Session) -> bool:
        found = session.fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        )
        return bool(found)


def open_url(url: str, *, schema: str | None, create: bool, timeout: float) -> SqliteLog:
    """``open_log``'s entry: a plain path or ``sqlite:///PATH`` (a file has no schema)."""
    if "://" not in url:
        return open_sqlite(url, create=create, timeout=timeout)
    if not url.startswith("sqlite:///"):
        raise LogUnavailable(f"a SQLite URL is sqlite:///PATH, not {url!r}")
    return open_sqlite(url[len("sqlite:///") :], create=create, timeout=timeout)


def open_sqlite(path: str, *, create: bool, timeout: float) -> SqliteLog:
    """Open (or create) the SQLite log at ``path``."""
    if path != ":memory:" and not create and not Path(path).is_file():
        raise LogUnavailable(f"no decision log at {path}")
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        _set_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    except sqlite3.Error as exc:
        raise LogUnavailable(f"cannot open the decision log {path}: {exc}") from exc
    log = SqliteLog(path, conn)
    try:
        log._init_schema(create)
    except BaseException:
        conn.close()
        raise
    return log


def _set_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL (persistent in the file); another opener may hold a lock briefly."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() not in ("wal", "memory"):
                raise LogUnavailable(f"SQLite refused WAL mode (journal_mode is {mode})")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
