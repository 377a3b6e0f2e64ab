"""Nothing lost: writers killed with SIGKILL, and writers racing each other, for real.

Each test starts child processes that write batches through ``append_many``; then it
checks counts, that every record reads back whole, and the hash chain. Both back-ends
(PostgreSQL is skipped only where no server answers ``RULELANG_TEST_PG_URL``).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial

import pytest
from conftest import checkout_env

from rulelang.store import DecisionLog, open_log, verify

WRITER = r"""
import sys
from decimal import Decimal
from functools import partial
from rulelang.store import open_log

url, run_id, first, count, batch = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])

def record(line):
    return {
        "id": f"{run_id}-{line}", "policy": "retail_pricing", "version": "2026.11.1",
        "policy_hash": "sha256:" + "cd" * 32, "action": "review" if line % 5 == 0 else "allow",
        "outputs": {"price": Decimal(f"{line}.50"), "rank": 1.15},
        "reasons": [], "review_by": "", "fired": ["vic_new_collection"],
        "trace": [{"rule": "vic_new_collection", "line": 48, "outcome": "fired",
                   "values": {"customer.tier": "vic"}, "changes": {"rank": [1.0, 1.15]}}],
        "models": [{"model": "fraud_risk", "version": "v1", "value": 0.5,
                    "confidence": 0.9, "ms": 0.2, "source": "model"}],
        "error": None,
    }

def rows():
    for line in range(first, first + count):
        yield line, record(line), {"item": {"line": line, "sku": "x" * 200}}

with open_log(url) as log:
    print(log.append_many(run_id, rows(), batch_size=batch), flush=True)
"""


@pytest.fixture
def url(log_url: str) -> str:
    """A fresh log, SQLite and PostgreSQL (``conftest.log_url``)."""
    return log_url


def spawn(url: str, run_id: str, count: int, batch: int) -> subprocess.Popen[str]:
    """A writer process (this checkout's rulelang); killed, it cannot be run_python's."""
    args = [sys.executable, "-c", WRITER, url, run_id, "0", str(count), str(batch)]
    return subprocess.Popen(args, env=checkout_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait_until(done: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def _killable(child: subprocess.Popen[str], url: str, log: DecisionLog, threshold: int) -> bool:
    """The child has finished, or has written enough and is inside a write transaction."""
    if child.poll() is not None:
        return True
    return log.count() >= threshold and writer_holds_lock(url)


def writer_holds_lock(url: str) -> bool:
    """Whether some writer holds the log's write lock right now."""
    if not url.startswith("postgresql://"):
        conn = sqlite3.connect(url, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    import psycopg

    from rulelang.store.postgres import split_schema

    conninfo, schema = split_schema(url)
    with psycopg.connect(conninfo) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'chain_head' "
            "AND n.nspname = %s AND l.mode = 'ExclusiveLock' AND l.granted",
            (schema,),
        ).fetchone()
    return bool(found and found[0])


def check_whole(url: str, run_id: str) -> set[int]:
    """Every logged decision of the run reads back whole; the chain verifies."""
    with open_log(url) as log:
        result = verify(log)
        assert result.ok, result.render()
        lines = log.done_lines(run_id)
        decisions = list(log.decisions(run_id=run_id))
    assert len(decisions) == len(lines)  # no line twice
    for d in decisions:
        assert d.decision_id == f"{run_id}-{d.line}"
        assert d.record["outputs"]["price"] == Decimal(f"{d.line}.50")
        assert d.facts["item"]["line"] == d.line
    return lines


def test_a_killed_writer_leaves_whole_records_and_a_resume_finishes(url: str) -> None:
    # Thousands of records in batches of 100: each kill lands with batches committed
    # before it and at least a thousand lines still to write after it.
    total = 4_000
    with open_log(url) as log:
        for threshold in (500, 2_000):
            child = spawn(url, "run", total, 100)
            wait_until(partial(_killable, child, url, log, threshold))
            child.send_signal(signal.SIGKILL)  # most likely mid-transaction
            child.wait(30)
            assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
            lines = check_whole(url, "run")
            assert threshold <= len(lines) < total
            assert len(lines) % 100 == 0  # whole batches only: the one in flight is gone
        resumed = spawn(url, "run", total, 500)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        assert int(out) == total - len(lines)
    assert check_whole(url, "run") == set(range(total))


def test_two_writers_at_once_both_succeed(url: str) -> None:
    writers = [spawn(url, run_id, 6_000, 100) for run_id in ("a", "b")]
    results = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err for _, err in results]
    assert [int(out) for out, _ in results] == [6_000, 6_000]
    assert check_whole(url, "a") == check_whole(url, "b") == set(range(6_000))


def test_two_writers_of_the_same_run_write_each_line_once(url: str) -> None:
    writers = [spawn(url, "shared", 6_000, 100) for _ in range(2)]
    results = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err for _, err in results]
    assert sum(int(out) for out, _ in results) == 6_000
    assert check_whole(url, "shared") == set(range(6_000))
    with open_log(url) as log:
        assert log.count() == 6_000
