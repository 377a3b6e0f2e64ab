"""Write the fraud example's transactions: seeded, standard library only.

python examples/fraud/gen_facts.py --n 2000 --seed 11 --out examples/fraud/facts.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

COUNTRIES = ["FR", "DE", "US", "GB", "BR", "NG"]
MERCHANTS = ["grocery", "electronics", "travel", "luxury", "gaming"]


def transaction(rng: random.Random) -> dict[str, dict[str, object]]:
    avg = round(rng.lognormvariate(4.0, 0.8), 2)
    unusual = rng.random() < 0.05
    amount = avg * (rng.uniform(5, 40) if unusual else rng.uniform(0.2, 2.5))
    return {
        "txn": {
            "amount": round(min(amount, 50000.0), 2),
            "country": rng.choice(COUNTRIES),
            "card_present": rng.random() < 0.45,
            "hour": rng.randint(0, 23),
            "merchant_category": rng.choice(MERCHANTS),
        },
        "account": {
            "age_days": rng.randint(0, 29) if rng.random() < 0.1 else rng.randint(30, 4000),
            "chargebacks": rng.choices([0, 1, 2, 3, 5], [85, 8, 4, 2, 1])[0],
            "avg_amount": min(avg, 50000.0),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "facts.jsonl")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8") as out:
        for _ in range(args.n):
            out.write(json.dumps(transaction(rng)) + "\n")


if __name__ == "__main__":
    main()
