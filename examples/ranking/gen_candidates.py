"""Write the ranking example's candidates: a few thousand products for one customer.

    python examples/ranking/gen_candidates.py --n 3000 --seed 7

Seeded and standard-library only, so the committed file can be rebuilt exactly.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

CATEGORIES = {
    "bags": ["leather tote bag", "quilted shoulder bag", "canvas weekend bag", "evening clutch"],
    "shoes": ["suede ankle boots", "patent leather pumps", "running sneakers", "satin heels"],
    "ready_to_wear": [
        "silk evening gown",
        "wool winter coat",
        "linen summer dress",
        "cashmere sweater",
        "sequined cocktail dress",
        "denim jacket",
    ],
    "jewelry": ["gold pendant necklace", "diamond stud earrings", "silver charm bracelet"],
    "beauty": ["rose eau de parfum", "hydrating face cream", "matte red lipstick"],
}
ADJECTIVES = ["classic", "limited edition", "handmade", "minimalist", "vintage", "bold"]


def candidate(rng: random.Random, number: int) -> dict[str, object]:
    category = rng.choice(sorted(CATEGORIES))
    price = round(rng.lognormvariate(5.5, 0.9), 2)
    stock = (
        0
        if rng.random() < 0.08
        else rng.choice([1, 2, 3, 4])
        if rng.random() < 0.1
        else rng.randint(5, 400)
    )
    return {
        "sku": f"P-{number:06d}",
        "category": category,
        "description": f"{rng.choice(ADJECTIVES)} {rng.choice(CATEGORIES[category])}",
        "price": min(price, 99999.0),
        "stock": stock,
        "new_collection": rng.random() < 0.2,
        "margin": round(rng.uniform(0.02, 0.6), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "candidates.jsonl")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8") as out:
        for number in range(args.n):
            out.write(json.dumps(candidate(rng, number)) + "\n")


if __name__ == "__main__":
    main()
