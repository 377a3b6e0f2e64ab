"""Deterministic facts for the reference benchmark policy (shared/bench/POLICY.md).

``generate(n, seed)`` yields ``n`` flat dicts with exactly the fields, types and
distributions of POLICY.md's input table. It uses only ``random.Random(seed)``, so
the same seed gives the same facts on any machine, with or without numpy. The
per-category weights and price ranges below are what POLICY.md leaves open; they
are tuned so that the rules fire at the rates POLICY.md lists for 100,000 facts at
seed 20240601 (``tests/test_bench_reference.py`` holds them to it).

Command line::

    python benchmarks/gen_facts.py 100000 --seed 20240601 --out facts.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from typing import cast

DEFAULT_SEED = 20240601

# category -> (weight, lowest base price, highest base price, skew). A base price is
# ``low + (high - low) * u ** skew`` with u ~ U(0, 1): skew 1 is uniform, a larger skew
# makes cheap items common and expensive ones rare. Categories with a regulatory cap
# (R15) stay below about 1.43 x their cap, so the cap bites often but rarely by much.
CATEGORIES: dict[str, tuple[float, float, float, float]] = {
    "apparel": (0.17, 10.0, 1200.0, 4.25),
    "footwear": (0.10, 30.0, 1500.0, 4.25),
    "accessories": (0.08, 10.0, 2500.0, 4.25),
    "beauty": (0.08, 5.0, 257.0, 1.0),
    "electronics": (0.11, 20.0, 5000.0, 4.25),
    "home": (0.10, 10.0, 2145.0, 1.0),
    "toys": (0.065, 5.0, 357.0, 1.0),
    "sports": (0.065, 10.0, 2500.0, 4.25),
    "grocery": (0.08, 1.0, 71.5, 1.0),
    "jewelry": (0.05, 50.0, 5000.0, 4.25),
    "books": (0.06, 3.0, 143.0, 1.0),
    "outdoor": (0.04, 20.0, 3000.0, 4.25),
}
TIERS = (("standard", 0.70), ("gold", 0.22), ("vic", 0.08))
REGIONS = (("EU", 0.30), ("US", 0.34), ("UK", 0.13), ("APAC", 0.13), ("LATAM", 0.10))
CHANNELS = (("web", 0.40), ("app", 0.30), ("store", 0.20), ("marketplace", 0.10))
PROMOTIONS = tuple(range(5, 95, 5))  # 5, 10, ..., 90

FIELDS = (
    "sku", "category", "base_price", "cost", "stock", "is_new_collection", "is_clearance",
    "customer_tier", "customer_lifetime_value", "account_age_days", "days_since_last_order",
    "discount_pct", "competitor_price", "region", "channel", "quantity", "fraud_score",
)  # fmt: skip
_CATEGORY_NAMES = tuple(CATEGORIES)
_CATEGORY_WEIGHTS = tuple(spec[0] for spec in CATEGORIES.values())


def generate(n: int, seed: int = DEFAULT_SEED) -> Iterator[dict[str, object]]:
    """Yield ``n`` facts; the i-th fact depends only on ``seed`` and ``i``."""
    rng = random.Random(seed)
    for i in range(n):
        yield make_fact(rng, i)


def make_fact(rng: random.Random, index: int) -> dict[str, object]:
    """One fact: the item, then the customer, then the order, each drawn in a fixed order."""
    fact: dict[str, object] = {"sku": f"SKU-{index:07d}"}
    fact.update(_item(rng))
    fact.update(_customer(rng))
    fact.update(_order(rng))
    base_price = cast(float, fact["base_price"])
    fact["competitor_price"] = round(base_price * rng.uniform(0.6, 1.3), 2)
    return {name: fact[name] for name in FIELDS}


def _item(rng: random.Random) -> dict[str, object]:
    category = rng.choices(_CATEGORY_NAMES, _CATEGORY_WEIGHTS)[0]
    base_price = _base_price(rng, category)
    return {
        "category": category,
        "base_price": base_price,
        "cost": round(base_price * rng.uniform(0.35, 0.95), 2),
        "stock": _stock(rng),
        "is_new_collection": rng.random() < 0.25,
        "is_clearance": rng.random() < 0.12,
    }


def _customer(rng: random.Random) -> dict[str, object]:
    return {
        "customer_tier": _pick(rng, TIERS),
        "customer_lifetime_value": round(min(rng.expovariate(1 / 3000), 100000.0), 2),
        "account_age_days": rng.randint(0, 29) if rng.random() < 0.10 else rng.randint(30, 4000),
        "days_since_last_order": rng.randint(0, 900),
    }


def _order(rng: random.Random) -> dict[str, object]:
    return {
        "discount_pct": 0 if rng.random() < 0.45 else rng.choice(PROMOTIONS),
        "region": _pick(rng, REGIONS),
        "channel": _pick(rng, CHANNELS),
        "quantity": rng.randint(11, 40) if rng.random() < 0.05 else rng.randint(1, 10),
        "fraud_score": round(_fraud_score(rng), 3),
    }


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def _base_price(rng: random.Random, category: str) -> float:
    """Skewed within the category's range (see CATEGORIES), 2 dp, inside 1.00 .. 5000.00."""
    _, low, high, skew = CATEGORIES[category]
    price = low + (high - low) * rng.random() ** skew
    return min(max(round(price, 2), 1.0), 5000.0)


def _stock(rng: random.Random) -> int:
    """0 for 6 %, 1-4 for 10 %, otherwise 5-500."""
    u = rng.random()
    if u < 0.06:
        return 0
    if u < 0.16:
        return rng.randint(1, 4)
    return rng.randint(5, 500)


def _fraud_score(rng: random.Random) -> float:
    """Most buyers score low (Beta(2, 12)); a risky 13.5 % lean high (Beta(1.2, 1))."""
    if rng.random() < 0.135:
        return rng.betavariate(1.2, 1.0)
    return rng.betavariate(2.0, 12.0)


def main(argv: list[str] | None = None) -> int:
    """CLI: write N facts as JSON lines to --out (stdout when omitted)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of facts")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", help="output .jsonl file (default: stdout)")
    args = parser.parse_args(argv)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        for fact in generate(args.n, args.seed):
            out.write(json.dumps(fact, separators=(",", ":")) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
