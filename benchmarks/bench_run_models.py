"""Model time inside a run against the same models called directly in one batch.

Run by hand:  python benchmarks/bench_run_models.py [--n 10000] [--repeat 3]

The retail example with its real models (models.yaml: the LightGBM fraud score and
the bundled all-MiniLM-L6-v2 similarity), over ``--n`` generated facts:

* **in the run**: ``decide_many`` over all facts, as ``rulelang run`` does, with each
  bound model wrapped to time its calls and keep the argument rows it was asked;
  model time per fact is that time over the number of facts;
* **direct**: a fresh copy of each model answers exactly those rows in one
  ``predict_batch`` call (for similarity, with its text cache empty again);
* **no batching**: the same run deciding one fact at a time with ``decide``;
* **single decision**: median and p99 of one ``decide`` whose only model call is
  the LightGBM score (the facts where similarity is not reached).

Every figure is the best of ``--repeat``, after one warm-up run (the first
inference in a process pays torch's start-up, seconds, once). The target is model time in the run
within 2x of the direct batch.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT / "examples" / "retail"
sys.path.insert(0, str(ROOT))

import rulelang  # noqa: E402
from rulelang.program import compile_file, load_models_yaml  # noqa: E402
from rulelang.source import SourceFile  # noqa: E402


class Timed:
    """A model that times its calls and keeps the rows it was asked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.version = inner.version
        self.seconds = 0.0
        self.rows: list[tuple[Any, ...]] = []

    def predict(self, args: tuple[Any, ...]) -> Any:
        start = time.perf_counter()
        answer = self.inner.predict(args)
        self.seconds += time.perf_counter() - start
        self.rows.append(args)
        return answer

    def predict_batch(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[Any]:
        start = time.perf_counter()
        answers = self.inner.predict_batch(rows)
        self.seconds += time.perf_counter() - start
        self.rows.extend(rows)
        return answers


def facts(n: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "facts.jsonl"
        subprocess.run(
            [sys.executable, str(RETAIL / "gen_facts.py"), "--n", str(n), "--out", str(out)],
            check=True,
        )
        with open(out, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]


def fresh_models() -> dict[str, Any]:
    policy = compile_file(SourceFile.read(RETAIL / "policy.rule"))
    return dict(load_models_yaml(RETAIL / "models.yaml", policy))


def one_run(rows: list[dict[str, Any]], batched: bool) -> tuple[float, dict[str, Timed]]:
    timed = {name: Timed(model) for name, model in fresh_models().items()}
    policy = rulelang.open_policy(RETAIL / "policy.rule", models=timed)
    start = time.perf_counter()
    if batched:
        decided = list(policy.decide_many(rows, batch_size=512))
    else:
        decided = [policy.decide(row) for row in rows]
    seconds = time.perf_counter() - start
    assert len(decided) == len(rows) and not any(d.error for d in decided)
    return seconds, timed


def single_latency(rows: list[dict[str, Any]]) -> tuple[float, float, int]:
    """Median and p99 µs of one `decide` whose only model call is the LightGBM score."""
    policy = rulelang.open_policy(RETAIL / "policy.rule", models=fresh_models())
    times = []
    for row in rows:
        start = time.perf_counter_ns()
        decision = policy.decide(row)
        spent = time.perf_counter_ns() - start
        if [c.model for c in decision.models] == ["fraud_risk"]:
            times.append(spent / 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)], len(times)


def direct(timed: dict[str, Timed]) -> dict[str, float]:
    """Each model, fresh, answering the rows the run asked in one batch."""
    out = {}
    for name, model in fresh_models().items():
        rows = timed[name].rows
        start = time.perf_counter()
        model.predict_batch(rows)
        out[name] = time.perf_counter() - start
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = facts(args.n)
    one_run(rows[:200], batched=True)  # warm-up: torch's first inference in a process takes s
    runs = [one_run(rows, batched=True) for _ in range(args.repeat)]
    run_s, timed = min(runs, key=lambda r: r[0])
    directs = [direct(timed) for _ in range(args.repeat)]
    single_s, _ = min(
        (one_run(rows, batched=False) for _ in range(args.repeat)), key=lambda r: r[0]
    )
    median, p99, count = single_latency(rows)
    n = args.n
    print(f"retail example, {n} facts, real models, best of {args.repeat}\n")
    print(
        f"{'model':<12}{'rows asked':>11}{'in run µs/fact':>16}{'direct µs/fact':>16}{'ratio':>7}"
    )
    total_run = total_direct = 0.0
    for name, model in timed.items():
        d = min(x[name] for x in directs)
        total_run += model.seconds
        total_direct += d
        print(
            f"{name:<12}{len(model.rows):>11}{model.seconds / n * 1e6:>16.1f}"
            f"{d / n * 1e6:>16.1f}{model.seconds / d:>7.2f}"
        )
    print(
        f"{'all models':<12}{'':>11}{total_run / n * 1e6:>16.1f}{total_direct / n * 1e6:>16.1f}"
        f"{total_run / total_direct:>7.2f}"
    )
    print(
        f"\nend to end: decide_many {n / run_s:,.0f} facts/s ({run_s / n * 1e6:.0f} µs/fact); "
        f"decide one at a time {n / single_s:,.0f} facts/s ({single_s / n * 1e6:.0f} µs/fact); "
        f"batching x{single_s / run_s:.1f}"
    )
    print(
        f"single decision with one LightGBM call: median {median:.0f} µs, p99 {p99:.0f} µs "
        f"({count} decisions)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
