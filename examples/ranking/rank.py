"""Rank the candidate products for one customer, cheapest checks first.

    python examples/ranking/rank.py --tier vic --taste "silk evening gown" --top 15

Decides every candidate with ``decide_many`` (the embedding model is called in
batches, and only for the products the cheap rules did not filter out), keeps
the allowed ones and prints them by rank, with what shaped each rank.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import rulelang

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tier", default="vic", choices=["standard", "gold", "vic"])
    parser.add_argument("--taste", default="silk evening gown")
    parser.add_argument("--exclude", default="beauty", help="a category the customer hides")
    parser.add_argument("--candidates", type=Path, default=HERE / "candidates.jsonl")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    policy = rulelang.open_policy(HERE / "policy.rule", bindings=HERE / "models.yaml")
    customer = {"tier": args.tier, "taste": args.taste, "excluded_category": args.exclude}
    with open(args.candidates, encoding="utf-8") as handle:
        products = [json.loads(line) for line in handle]
    start = time.perf_counter()
    rows = ({"customer": customer, "product": p} for p in products)
    decisions = list(policy.decide_many(rows, batch_size=1024))
    seconds = time.perf_counter() - start

    ranked = sorted(
        ((d, p) for d, p in zip(decisions, products, strict=True) if d.action == "allow"),
        key=lambda dp: -dp[0].outputs["rank"],
    )
    asked = sum(1 for d in decisions for call in d.models if call.model == "similarity")
    print(
        f"{len(decisions)} candidates: {len(decisions) - len(ranked)} filtered by rules, "
        f"similarity asked {asked} times (only for the rest), {seconds:.2f} s"
    )
    for place, (decision, product) in enumerate(ranked[: args.top], 1):
        print(
            f"{place:>3}. {decision.outputs['rank']:.3f}  {product['sku']}  "
            f"{product['description']}  [{', '.join(decision.fired)}]"
        )


if __name__ == "__main__":
    main()
