"""Throughput of the decision log: ``append_many`` of synthetic decision records.

Run by hand:  python benchmarks/bench_log.py [--n 100000] [--batch 5000] [--pg URL]

Records are shaped like LANGUAGE.md's decision record (outputs with exact money,
a two-entry trace, one model call) with facts of three blocks. SQLite is always
measured (a fresh file in a temporary directory); PostgreSQL when a server answers
at --pg (default $RULELANG_TEST_PG_URL or postgresql://postgres@127.0.0.1:5432/test),
in a schema created for the run and dropped afterwards. ``verify`` is timed too.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rulelang.store import DecisionLog, open_log, verify

DEFAULT_PG = os.environ.get("RULELANG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TIERS = ("standard", "gold", "vic")


def record(rng: random.Random, run: str, line: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """One synthetic decision record and its facts."""
    base = Decimal(rng.randrange(100, 500_000)) / 100
    discount = Decimal(rng.choice((0, 5, 10, 15, 20))) / 100
    price = (base * (1 - discount)).quantize(Decimal("0.01"))
    risk = round(rng.random(), 3)
    action = "block" if risk >= 0.85 else "review" if risk >= 0.6 else "allow"
    tier = rng.choice(TIERS)
    rec = {
        "id": f"{run}-{line:08d}", "policy": "retail_pricing", "version": "2026.11.1",
        "policy_hash": "sha256:" + "ab" * 32, "action": action,
        "outputs": {"price": price, "rank": 1.15 if tier == "vic" else 1.0},
        "reasons": ["possible fraud"] if action == "review" else [],
        "review_by": "loss_prevention" if action == "review" else "",
        "fired": ["vic_new_collection", "fraud_review"][: 2 if action == "review" else 1],
        "trace": [
            {"rule": "vic_new_collection", "line": 48, "outcome": "fired",
             "values": {"customer.tier": tier, "item.new_collection": True},
             "changes": {"rank": [1.0, 1.15]}},
            {"rule": "fraud_review", "line": 70, "outcome": "fired" if action == "review"
             else "skipped", "values": {"fraud_risk(customer, order, item)": risk}, "changes": {}},
        ],
        "models": [{"model": "fraud_risk", "version": "2026-11-01", "value": risk,
                    "confidence": 0.93, "ms": 0.21, "source": "model"}],
        "error": None,
    }  # fmt: skip
    facts = {
        "item": {"sku": f"SKU-{line:07d}", "category": "bags", "description": "evening bag",
                 "base_price": base, "cost": (base * Decimal("0.6")).quantize(Decimal("0.01")),
                 "stock": rng.randrange(0, 500), "new_collection": rng.random() < 0.25},
        "customer": {"tier": tier, "lifetime_value": Decimal(rng.randrange(0, 10**7)) / 100},
        "order": {"discount": discount, "channel": rng.choice(("web", "store", "app"))},
    }  # fmt: skip
    return rec, facts


def rows(n: int, run: str) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    rng = random.Random(7)
    return [(line, *record(rng, run, line)) for line in range(n)]


def measure(log: DecisionLog, label: str, n: int, batch: int) -> None:
    run = uuid.uuid4().hex[:8]
    data = rows(n, run)
    start = time.perf_counter()
    written = log.append_many(run, iter(data), batch_size=batch)
    seconds = time.perf_counter() - start
    assert written == n
    start = time.perf_counter()
    result = verify(log)
    verified = time.perf_counter() - start
    assert result.ok, result.render()
    print(f"{label:<10} append_many: {n} records in {seconds:.2f} s = {n / seconds:,.0f} records/s"
          f"   verify: {result.rows / verified:,.0f} rows/s")  # fmt: skip


def bench_sqlite(n: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, open_log(Path(tmp) / "bench.sqlite") as log:
        measure(log, "sqlite", n, batch)


def bench_postgres(url: str, n: int, batch: int) -> None:
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
    except Exception as exc:
        print(f"postgres   skipped: no server at {url} ({exc})")
        return
    schema = f"rl_bench_{uuid.uuid4().hex[:8]}"
    try:
        with open_log(url, schema=schema) as log:
            measure(log, "postgres", n, batch)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args(argv)
    bench_sqlite(args.n, args.batch)
    bench_postgres(args.pg, args.n, args.batch)


if __name__ == "__main__":
    main()
