"""The server back-end: PostgreSQL through psycopg 3, with the SQLite log's guarantees.

Input: a ``postgresql://`` URL, optionally with ``?schema=NAME`` (stripped before
connecting; the schema is created on first use). Output: a ``DecisionLog``.

Writers lock ``chain_head`` in EXCLUSIVE mode, so appends are serialised while
readers go on; a writer whose connection dies (a killed process) has its transaction
rolled back by the server. Batches go in with COPY. JSON is stored as TEXT, not
jsonb, so the bytes that were hashed are the bytes that are read back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rulelang.store.errors import LogUnavailable, StoreError
from rulelang.store.log import DecisionLog, DuplicateRow, Row, Session

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql as pg_sql
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise LogUnavailable(
        "a PostgreSQL log needs psycopg 3: pip install 'rulelang[postgres]'"
    ) from exc

_INIT_LOCK = 0x72756C656C6F67  # "rulelog": serialises schema creation across processes
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PostgresSession:
    """A transaction on one psycopg connection; ``?`` placeholders become ``%s``."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn
        self._cursors = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(_pg(sql), params)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(_pg(sql), params).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        self._cursors += 1
        cursor = self._conn.cursor(name=f"rulelang_stream_{self._cursors}")
        cursor.itersize = 2000
        cursor.execute(_pg(sql), params)
        return iter(cursor)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


class PostgresLog(DecisionLog):
    """A decision log in a PostgreSQL schema."""

    dialect = "postgres"

    def __init__(
        self, url: str, conn: psycopg.Connection[Row], schema: str, create: bool = True
    ) -> None:
        super().__init__(url)
        self._conn = conn
        self.schema = schema
        self._create = create

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _session(self, mode: str) -> Iterator[PostgresSession]:
        try:
            with self._conn.transaction():
                session = PostgresSession(self._conn)
                self._prepare(session, mode)
                yield session
        except pg_errors.UniqueViolation as exc:
            raise DuplicateRow(str(exc)) from exc
        except pg_errors.LockNotAvailable as exc:
            raise StoreError(f"{self.url}: another writer held the log too long: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: {exc}") from exc

    def _prepare(self, session: PostgresSession, mode: str) -> None:
        if mode == "write":
            session.execute("LOCK TABLE chain_head IN EXCLUSIVE MODE")
        elif mode == "snapshot":
            session.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        elif mode == "init":
            session.execute("SELECT pg_advisory_xact_lock(?)", (_INIT_LOCK,))
            if self._create:
                create = pg_sql.SQL("CREATE SCHEMA IF NOT EXISTS {}")
                self._conn.execute(create.format(pg_sql.Identifier(self.schema)))

    def _has_tables(self, session: Session) -> bool:
        found = session.fetchall(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = 'meta'",
            (self.schema,),
        )
        return bool(found)


def open_url(url: str, *, schema: str | None, create: bool, timeout: float) -> PostgresLog:
    """Connect to the log at ``url`` (in ``schema``, default the URL's or "public")."""
    conninfo, url_schema = split_schema(url)
    name = schema or url_schema or "public"
    if not _NAME.match(name):
        raise LogUnavailable(f"a schema name is a plain identifier, not {name!r}")
    try:
        conn: psycopg.Connection[Row] = psycopg.connect(
            conninfo, autocommit=True, connect_timeout=max(1, int(min(timeout, 10)))
        )
    except psycopg.Error as exc:
        raise LogUnavailable(f"cannot reach the decision log at {redact(url)}: {exc}") from exc
    _configure(conn, name, timeout)
    log = PostgresLog(redact(url), conn, name, create)
    try:
        log._init_schema(create)
    except BaseException:
        conn.close()
        raise
    return log


def split_schema(url: str) -> tuple[str, str | None]:
    """The URL without its ``schema`` query parameter, and that parameter."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def redact(url: str) -> str:
    """The URL with any password replaced, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _configure(conn: psycopg.Connection[Row], schema: str, timeout: float) -> None:
    path = pg_sql.SQL("SET search_path TO {}").format(pg_sql.Identifier(schema))
    conn.execute(path)
    conn.execute(
        pg_sql.SQL("SET lock_timeout = {}").format(pg_sql.Literal(f"{int(timeout * 1000)}ms"))
    )


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")
