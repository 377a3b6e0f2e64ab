"""What logging costs a ``rulelang run``: the retail example with and without ``--log``.

Run by hand:  python benchmarks/bench_run_log.py [--n 100000] [--repeat 3] [--pg URL]

Generates ``--n`` retail facts (examples/retail/gen_facts.py, seeded), then times
``rulelang run examples/retail/policy.rule`` with the plain-Python stand-in models
(models.standin.yaml) as a subprocess, best of ``--repeat``: without a log, with a
fresh SQLite log, and with PostgreSQL when ``--pg`` names a server that answers.
The overhead is (with log - without) / without. Every run must decide all facts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RETAIL = REPO / "examples" / "retail"


def generate(n: int, out: Path) -> None:
    subprocess.run(
        [sys.executable, str(RETAIL / "gen_facts.py"), "--n", str(n), "--out", str(out)], check=True
    )


def timed_run(facts: Path, out: Path, log: str | None) -> float:
    """Seconds of one `rulelang run`, start-up included."""
    cmd = [
        sys.executable,
        "-m",
        "rulelang.cli",
        "run",
        str(RETAIL / "policy.rule"),
        "--facts",
        str(facts),
        "--out",
        str(out),
        "--models",
        str(RETAIL / "models.standin.yaml"),
        "--no-progress",
    ]
    if log is not None:
        cmd += ["--log", log]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"rulelang run failed ({done.returncode}): {done.stderr}")
    print(f"    {done.stderr.strip()}")
    return seconds


def best(repeat: int, facts: Path, tmp: Path, log_for: Callable[[int], str] | None) -> float:
    times = []
    for i in range(repeat):
        log = log_for(i) if log_for is not None else None
        times.append(timed_run(facts, tmp / f"out{i}.jsonl", log))
    return min(times)


def postgres_answers(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:  # any failure means: no server to measure
        return False


def drop_schemas(url: str, schemas: list[str]) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        facts = tmp / "facts.jsonl"
        generate(args.n, facts)
        print(f"{args.n} retail facts, stand-in models, best of {args.repeat}")
        print("  no log:")
        plain = best(args.repeat, facts, tmp, None)
        print("  SQLite log:")
        sqlite = best(args.repeat, facts, tmp, lambda i: str(tmp / f"log{i}.sqlite"))
        rows = [("no log", plain), ("SQLite", sqlite)]
        if postgres_answers(args.pg):
            print("  PostgreSQL log:")
            sep = "&" if "?" in args.pg else "?"
            schemas = [f"bench_{uuid.uuid4().hex[:8]}" for _ in range(args.repeat)]
            try:
                pg = best(args.repeat, facts, tmp, lambda i: f"{args.pg}{sep}schema={schemas[i]}")
            finally:
                drop_schemas(args.pg, schemas)
            rows.append(("PostgreSQL", pg))
    print(f"\n{'run':<12}{'seconds':>9}{'facts/s':>10}{'overhead':>10}")
    for label, seconds in rows:
        overhead = f"{(seconds - plain) / plain:+.0%}" if label != "no log" else ""
        print(f"{label:<12}{seconds:>9.2f}{args.n / seconds:>10.0f}{overhead:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
