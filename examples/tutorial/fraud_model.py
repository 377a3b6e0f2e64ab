"""A stand-in fraud model for the tutorial (docs/tutorial.md): fixed answers by SKU.

An engineer binds the real model in models.yaml instead (docs/models.md); the policy
does not change. Each answer is (score, confidence).
"""

version = "tutorial-1"

ANSWERS = {
    "SHO-2005": (0.82, 0.91),  # looks like fraud
    "BAG-1006": (0.40, 0.55),  # the model is unsure: below min_confidence 80%
}


def fraud_risk(customer: dict, order: dict, item: dict) -> tuple[float, float]:
    return ANSWERS.get(item["sku"], (0.05, 0.97))
