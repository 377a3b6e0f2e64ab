"""Train the retail example's `fraud_risk` model on generated orders (seeded, seconds).

Writes ``models/fraud_risk.txt`` (LightGBM text format), ``models/fraud_risk.json``
(its sidecar: features, levels, training ranges, version, feature mapping) and
``models.yaml`` (binding `fraud_risk` and `similarity`), all beside this script.

    python examples/retail/train_models.py

The data is synthetic: fraud is likelier for expensive jewelry and bags, deep
discounts, web/app orders, standard-tier customers and customers with little or no
recorded lifetime value. Same seed, same files.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from rulelang.models.features import Feature, Sidecar
from rulelang.models.lightgbm import save_lightgbm

HERE = Path(__file__).resolve().parent
SEED = 20261101
VERSION = "2026-11-01"
CATEGORIES = ("bags", "shoes", "ready_to_wear", "jewelry", "beauty")
TIERS = ("standard", "gold", "vic")
CHANNELS = ("web", "store", "app")
MAPPING = {
    "price": "item.base_price",
    "category": "item.category",
    "new_collection": "item.new_collection",
    "tier": "customer.tier",
    "lifetime_value": "customer.lifetime_value",
    "discount": "order.discount",
    "channel": "order.channel",
}
MODELS_YAML = f"""\
# Written by train_models.py: binds the models that retail.rule declares.
fraud_risk:
  kind: lightgbm
  path: models/fraud_risk.txt
  version: "{VERSION}"
  features:
{"".join(f"    {k}: {v}{chr(10)}" for k, v in MAPPING.items())}  confidence: in_distribution
similarity:
  kind: similarity
  phrases: ["evening gown"]
  cache_size: 10000
"""


def generate(n: int, rng: np.random.Generator) -> tuple[dict[str, Any], np.ndarray]:
    """Columns of ``n`` orders (raw values, None for missing) and their fraud labels."""
    category = rng.choice(CATEGORIES, n, p=[0.25, 0.2, 0.3, 0.1, 0.15])
    typical = np.exp(rng.normal(6.0, 1.0, n)) * np.where(category == "jewelry", 3, 1)
    price = np.round(np.clip(_spread(rng, typical, 1.0, 100_000.0), 1.0, 100_000.0), 2)
    tier = rng.choice(TIERS, n, p=[0.7, 0.22, 0.08])
    typical = rng.exponential(3000.0, n) * np.where(tier == "vic", 10, 1)
    ltv = np.round(np.clip(_spread(rng, typical, 1.0, 10_000_000.0), 0.0, 10_000_000.0), 2)
    ltv[rng.random(n) < 0.02] = 0.0
    ltv_missing = rng.random(n) < np.where(tier == "standard", 0.3, 0.05)
    discount = rng.choice(
        [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9], n, p=[0.45, 0.2, 0.15, 0.1, 0.05, 0.03, 0.02]
    )
    channel = rng.choice(CHANNELS, n, p=[0.5, 0.3, 0.2])
    columns: dict[str, Any] = {
        "price": price,
        "category": category,
        "new_collection": rng.random(n) < 0.25,
        "tier": tier,
        "lifetime_value": [None if m else float(v) for v, m in zip(ltv, ltv_missing, strict=True)],
        "discount": discount,
        "channel": channel,
    }
    logit = (
        -5.0
        + 0.5 * np.log1p(price / 500)
        + 2.5 * discount
        + np.isin(category, ["jewelry", "bags"]) * 1.0
        + (channel != "store") * 0.8
        + (tier == "standard") * 0.7
        + ltv_missing * 1.2
        - np.log1p(ltv / 5000) * 0.5
    )
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return columns, labels


def _spread(rng: np.random.Generator, typical: np.ndarray, low: float, high: float) -> Any:
    """``typical`` with 10 % of values replaced by log-uniform draws over ``low .. high``.

    Training then covers the whole declared range of the field, so ordinary facts are
    in distribution (full confidence) and only values beyond it are not.
    """
    wide = np.exp(rng.uniform(np.log(low), np.log(high), len(typical)))
    return np.where(rng.random(len(typical)) < 0.1, wide, typical)


def describe(columns: dict[str, Any]) -> tuple[Feature, ...]:
    """The sidecar's features, in model order, from the training columns."""
    return (
        Feature.numeric("price", columns["price"]),
        Feature.categorical("category", CATEGORIES, columns["category"]),
        Feature.boolean("new_collection", columns["new_collection"]),
        Feature.categorical("tier", TIERS, columns["tier"]),
        Feature.numeric("lifetime_value", columns["lifetime_value"]),
        Feature.numeric("discount", columns["discount"]),
        Feature.categorical("channel", CHANNELS, columns["channel"]),
    )


def matrix(features: tuple[Feature, ...], columns: dict[str, Any]) -> np.ndarray:
    """Encode columns exactly as the adapter encodes facts."""
    return np.column_stack([f.codes(columns[f.name]) for f in features]).astype(np.float64)


def train(rows: int, seed: int, out: Path) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    columns, labels = generate(rows, rng)
    features = describe(columns)
    x = matrix(features, columns)
    split = int(rows * 0.8)
    names = [f.name for f in features]
    cats = [f.name for f in features if f.kind == "categorical"]
    params = {
        "objective": "binary",
        "num_leaves": 15,
        "learning_rate": 0.1,
        "verbose": -1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
    }
    booster = lgb.train(
        params,
        lgb.Dataset(x[:split], labels[:split], feature_name=names, categorical_feature=cats),
        num_boost_round=80,
    )
    auc = _auc(booster.predict(x[split:]), labels[split:])
    info = {
        "rows": rows,
        "seed": seed,
        "objective": "binary",
        "holdout_auc": round(auc, 4),
        "positive_rate": round(float(labels.mean()), 4),
    }
    out.mkdir(parents=True, exist_ok=True)
    save_lightgbm(booster, out / "fraud_risk.txt", Sidecar(features, VERSION, MAPPING, info))
    return info


def _auc(scores: Any, labels: np.ndarray) -> float:
    """Area under the ROC curve by ranks (no scikit-learn needed)."""
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=HERE / "models")
    args = parser.parse_args()
    info = train(args.rows, args.seed, args.out)
    (args.out.parent / "models.yaml").write_text(MODELS_YAML, encoding="utf-8")
    print(f"fraud_risk: {info} -> {args.out}")


if __name__ == "__main__":
    main()
