"""The log's tables, written once for both back-ends.

Every table below holds chained rows: ``seq`` (one sequence across all tables),
the hashed columns in ``Table.columns``, then ``prev_hash`` and ``hash``. A single
``chain_head`` row holds the last sequence number and hash; writers lock it (or
the database) to append. ``meta`` holds the schema version.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # "text" | "int" | "json" (canonical JSON text, stored as TEXT)
    constraint: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    subject: str  # the column that names what a row is about, for audit reports
    constraints: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def stored_names(self) -> tuple[str, ...]:
        """Every column, in the order rows are inserted and read for the chain."""
        return ("seq", *self.column_names, "prev_hash", "hash")


def _text(name: str, constraint: str = "NOT NULL") -> Column:
    return Column(name, "text", constraint)


POLICIES = Table(
    "policies",
    (
        _text("policy_hash", "NOT NULL UNIQUE"),
        _text("name"),
        _text("version"),
        _text("source"),
        _text("at"),
    ),
    subject="policy_hash",
)

DECISIONS = Table(
    "decisions",
    (
        _text("decision_id", "NOT NULL UNIQUE"),
        _text("run_id", ""),
        Column("line", "int"),
        _text("policy"),
        _text("version"),
        _text("policy_hash"),
        _text("action"),
        _text("review_by"),
        Column("model_versions", "json", "NOT NULL"),  # {model: version}
        _text("at"),
        Column("record", "json", "NOT NULL"),  # the decision record
        Column("facts", "json", "NOT NULL"),  # the facts it decided on
    ),
    subject="decision_id",
    constraints=("UNIQUE (run_id, line)",),
)

REVIEWS = Table(
    "reviews",
    (
        _text("decision_id"),
        _text("kind"),  # "approved" | "overridden" | "refused"
        _text("person"),
        _text("role"),
        _text("output"),  # "" for an approval
        Column("old", "json", "NOT NULL"),
        Column("new", "json", "NOT NULL"),
        _text("note"),  # the approval's note or the override's reason
        _text("message"),  # the policy's refusal message
        _text("at"),
    ),
    subject="decision_id",
)

CHAINED_TABLES = (POLICIES, DECISIONS, REVIEWS)

INDEXES = (
    "CREATE INDEX IF NOT EXISTS decisions_queue ON decisions (action, review_by, seq)",
    "CREATE INDEX IF NOT EXISTS decisions_policy ON decisions (policy, seq)",
    "CREATE INDEX IF NOT EXISTS reviews_decision ON reviews (decision_id, seq)",
)


def create_statements(dialect: str) -> list[str]:
    """DDL for ``dialect`` ("sqlite" or "postgres"); every statement is idempotent."""
    types = {"text": "TEXT", "json": "TEXT", "int": "INTEGER" if dialect == "sqlite" else "BIGINT"}
    seq = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "BIGINT PRIMARY KEY"
    out = [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
        f"seq {types['int']} NOT NULL, hash TEXT NOT NULL)",
    ]
    for table in CHAINED_TABLES:
        cols = [f"seq {seq}"]
        cols += [f"{c.name} {types[c.kind]} {c.constraint}".rstrip() for c in table.columns]
        cols += ["prev_hash TEXT NOT NULL", "hash TEXT NOT NULL", *table.constraints]
        out.append(f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(cols)})")
    return [*out, *INDEXES]
