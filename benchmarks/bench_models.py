"""Per-row cost of the model adapters: single calls against batches, cached against not.

Measures, on the committed example models:

* LightGBM (``examples/retail`` ``fraud_risk``): ``predict`` one row at a time,
  ``predict_batch`` over 1, 100 and 10,000 rows, ``explain``, and the bare
  ``booster.predict`` on a ready array (the floor the adapter adds to);
* the isolation forest (``examples/fraud`` ``anomaly``): single against batch;
* similarity (bundled all-MiniLM-L6-v2, CPU): uncached single calls, one uncached
  batch, and cached single and batch calls.

Every figure is the best of ``--repeat`` runs, in microseconds per row. Run:

    python benchmarks/bench_models.py            # about half a minute
    python benchmarks/bench_models.py --quick    # smaller sizes, a few seconds
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rulelang.models.anomaly import IsolationForestModel  # noqa: E402
from rulelang.models.lightgbm import LightGBMModel  # noqa: E402
from rulelang.models.similarity import SimilarityModel  # noqa: E402

Row = tuple[str, str, int, float, float]  # name, mode, rows, µs per row, total ms

WORDS = (
    "black",
    "silk",
    "evening",
    "gown",
    "leather",
    "tote",
    "bag",
    "running",
    "shoe",
    "gold",
    "ring",
    "cotton",
    "shirt",
    "velvet",
    "dress",
    "wool",
    "coat",
    "lip",
    "balm",
    "summer",
    "sandal",
    "linen",
    "scarf",
    "pearl",
    "necklace",
    "canvas",
    "sneaker",
)


def best(fn: Callable[[], Any], repeat: int) -> float:
    """The best wall time of ``repeat`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def retail_rows(n: int, rng: random.Random) -> list[tuple[dict[str, Any], ...]]:
    """``n`` (customer, order, item) argument tuples for ``fraud_risk``."""
    rows = []
    for _ in range(n):
        customer = {
            "tier": rng.choice(["standard", "gold", "vic"]),
            "lifetime_value": Decimal(rng.randint(0, 50_000)),
        }
        order = {
            "discount": Decimal(rng.choice([0, 10, 20, 50])) / 100,
            "channel": rng.choice(["web", "store", "app"]),
        }
        item = {
            "category": rng.choice(["bags", "shoes", "ready_to_wear", "jewelry", "beauty"]),
            "base_price": Decimal(rng.randint(10, 20_000)),
            "new_collection": rng.random() < 0.3,
            "description": "x",
            "cost": Decimal(1),
            "stock": 3,
            "sku": "s",
        }
        rows.append((customer, order, item))
    return rows


def fraud_rows(n: int, rng: random.Random) -> list[tuple[dict[str, Any], ...]]:
    """``n`` (txn, account) argument tuples for ``anomaly``."""
    return [
        (
            {
                "amount": Decimal(rng.randint(5, 500)),
                "country": rng.choice(["FR", "DE", "US"]),
                "card_present": rng.random() < 0.5,
                "hour": rng.randint(0, 23),
                "merchant_category": rng.choice(["grocery", "travel", "gaming"]),
            },
            {
                "age_days": rng.randint(0, 5000),
                "chargebacks": 0,
                "avg_amount": Decimal(rng.randint(10, 300)),
            },
        )
        for _ in range(n)
    ]


def texts(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct product descriptions."""
    out: set[str] = set()
    while len(out) < n:
        out.add(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))))
    return sorted(out)


def bench_tabular(
    name: str, model: Any, rows: Sequence[Any], sizes: Sequence[int], repeat: int
) -> list[Row]:
    single_n = min(len(rows), 2000)

    def singles() -> None:
        for args in rows[:single_n]:
            model.predict(args)

    t = best(singles, repeat)
    table: list[Row] = [(name, "predict, one row at a time", single_n, t / single_n * 1e6, t * 1e3)]
    for size in sizes:
        t = best(lambda size=size: model.predict_batch(rows[:size]), repeat)
        table.append((name, "predict_batch", size, t / size * 1e6, t * 1e3))
    return table


def bench_lightgbm(sizes: Sequence[int], repeat: int, rng: random.Random) -> list[Row]:
    import numpy as np

    model = LightGBMModel.load(
        ROOT / "examples/retail/models/fraud_risk.txt", ("customer", "order", "item")
    )
    rows = retail_rows(max(sizes), rng)
    table = bench_tabular("lightgbm", model, rows, sizes, repeat)
    n = 500
    t = best(lambda: [model.explain(args) for args in rows[:n]], repeat)
    table.append(("lightgbm", "explain (top-5 contributions)", n, t / n * 1e6, t * 1e3))
    one = np.array([model.features.encode(rows[0])[0]])
    t = best(lambda: [model.booster.predict(one, num_threads=1) for _ in range(n)], repeat)
    table.append(("lightgbm", "bare booster.predict, 1 row", n, t / n * 1e6, t * 1e3))
    matrix = model.features.encode_many(rows)[0]
    t = best(lambda: model.booster.predict(matrix), repeat)
    table.append(
        ("lightgbm", "bare booster.predict, array", len(rows), t / len(rows) * 1e6, t * 1e3)
    )
    return table


def bench_anomaly(sizes: Sequence[int], repeat: int, rng: random.Random) -> list[Row]:
    model = IsolationForestModel.load(
        ROOT / "examples/fraud/models/anomaly.npz", ("txn", "account")
    )
    return bench_tabular("isolation_forest", model, fraud_rows(max(sizes), rng), sizes, repeat)


def bench_similarity(n: int, repeat: int, rng: random.Random) -> list[Row]:
    loaded = SimilarityModel(phrases=["evening gown"]).load()
    pool = texts(n * (2 * repeat + 1), rng)
    batches = iter([pool[i * n : (i + 1) * n] for i in range(2 * repeat + 1)])

    def fresh() -> SimilarityModel:
        return SimilarityModel(phrases=["evening gown"], encoder=loaded.encoder).load()

    def uncached_single() -> None:
        model, chunk = fresh(), next(batches)
        for text in chunk:
            model.predict((text, "evening gown"))

    def uncached_batch() -> None:
        model, chunk = fresh(), next(batches)
        model.predict_batch([(text, "evening gown") for text in chunk])

    table: list[Row] = []
    for mode, fn in (
        ("uncached, one pair at a time", uncached_single),
        ("uncached, one predict_batch", uncached_batch),
    ):
        t = best(fn, repeat)
        table.append(("similarity", mode, n, t / n * 1e6, t * 1e3))
    warm = fresh()
    rows = [(text, "evening gown") for text in pool[:n]]
    warm.predict_batch(rows)
    t = best(lambda: [warm.predict(r) for r in rows], repeat)
    table.append(("similarity", "cached, one pair at a time", n, t / n * 1e6, t * 1e3))
    t = best(lambda: warm.predict_batch(rows), repeat)
    table.append(("similarity", "cached, one predict_batch", n, t / n * 1e6, t * 1e3))
    return table


def render(table: Sequence[Row]) -> str:
    head = f"{'model':<17} {'mode':<32} {'rows':>7} {'µs/row':>10} {'total ms':>10}"
    lines = [head, "-" * len(head)]
    lines += [f"{m:<17} {mode:<32} {n:>7} {us:>10.2f} {ms:>10.2f}" for m, mode, n, us, ms in table]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = (1, 100, 1000) if args.quick else (1, 100, 10_000)
    repeat = 2 if args.quick else args.repeat
    rng = random.Random(args.seed)
    table = bench_lightgbm(sizes, repeat, rng) + bench_anomaly(sizes, repeat, rng)
    table += bench_similarity(32 if args.quick else 128, repeat, rng)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(render(table))


if __name__ == "__main__":
    main()
