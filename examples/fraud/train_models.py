"""Train the fraud example's models on generated card transactions (seeded, seconds).

* ``fraud_score(txn, account) -> score``: a binary LightGBM classifier,
  ``models/fraud_score.txt`` + ``models/fraud_score.json``.
* ``anomaly(txn, account) -> score``: a scikit-learn IsolationForest exported to
  inert arrays (``models/anomaly.npz`` + ``models/anomaly.json``): no pickle, so
  loading the model file cannot run code; scikit-learn is needed only here.

Also writes ``models.yaml`` binding both. Run:

    python examples/fraud/train_models.py

The data is synthetic: fraud is likelier for card-not-present transactions far
above the account's usual amount, at night, on young accounts with chargebacks, and
in electronics, luxury and gaming.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.ensemble import IsolationForest

from rulelang.models.anomaly import export_isolation_forest, sklearn_agreement
from rulelang.models.features import Feature, Sidecar
from rulelang.models.lightgbm import save_lightgbm

HERE = Path(__file__).resolve().parent
SEED = 20261101
VERSION = "2026-11-01"
COUNTRIES = ("FR", "DE", "US", "GB", "BR", "NG")
MERCHANTS = ("grocery", "electronics", "travel", "luxury", "gaming")
MAPPING = {
    "amount": "txn.amount",
    "country": "txn.country",
    "card_present": "txn.card_present",
    "hour": "txn.hour",
    "merchant_category": "txn.merchant_category",
    "age_days": "account.age_days",
    "chargebacks": "account.chargebacks",
    "avg_amount": "account.avg_amount",
}
_FEATURES = "".join(f"    {k}: {v}\n" for k, v in MAPPING.items())
MODELS_YAML = f"""\
# Written by train_models.py: binds the models that fraud.rule declares.
fraud_score:
  kind: lightgbm
  path: models/fraud_score.txt
  version: "{VERSION}"
  features:
{_FEATURES}  confidence: in_distribution
anomaly:
  kind: isolation_forest
  path: models/anomaly.npz
  version: "{VERSION}"
  features:
{_FEATURES}"""


def generate(n: int, rng: np.random.Generator) -> tuple[dict[str, Any], np.ndarray]:
    """Columns of ``n`` transactions and their fraud labels."""
    merchant = rng.choice(MERCHANTS, n, p=[0.4, 0.2, 0.15, 0.1, 0.15])
    avg = np.round(np.clip(_spread(rng, np.exp(rng.normal(4.0, 0.8, n)), 50_000), 0.0, 50_000), 2)
    typical = avg * np.exp(rng.normal(0.0, 0.7, n)) * np.where(merchant == "travel", 4, 1)
    amount = np.round(np.clip(_spread(rng, typical, 50_000), 0.0, 50_000), 2)
    age = np.minimum(rng.exponential(1500.0, n).astype(int), 10_000)
    age[rng.random(n) < 0.01] = 10_000
    avg[age == 0] = 0.0  # a new account has no history yet
    chargebacks = np.where(rng.random(n) < 0.01, rng.integers(0, 101, n), rng.poisson(0.08, n))
    card_present = rng.random(n) < 0.55
    hour = (rng.normal(14, 4.5, n).round().astype(int)) % 24
    columns: dict[str, Any] = {
        "amount": amount,
        "country": rng.choice(COUNTRIES, n, p=[0.3, 0.2, 0.2, 0.15, 0.1, 0.05]),
        "card_present": card_present,
        "hour": hour,
        "merchant_category": merchant,
        "age_days": age,
        "chargebacks": chargebacks,
        "avg_amount": avg,
    }
    night = (hour < 6) | (hour >= 23)
    logit = (
        -5.5
        + 1.2 * np.log((amount + 1) / (avg + 1))
        + 1.3 * ~card_present
        + 0.9 * night
        + 1.5 * (age < 60)
        + 0.8 * np.minimum(chargebacks, 5)
        + np.isin(merchant, ["electronics", "luxury", "gaming"]) * 0.9
    )
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return columns, labels


def _spread(rng: np.random.Generator, typical: np.ndarray, high: float) -> Any:
    """``typical`` with 10 % of values replaced by log-uniform draws over 0.01 .. ``high``.

    Training then covers the whole declared range of the field, so ordinary facts are
    in distribution (full confidence) and only values beyond it are not.
    """
    wide = np.exp(rng.uniform(np.log(0.01), np.log(high), len(typical)))
    return np.where(rng.random(len(typical)) < 0.1, wide, typical)


def describe(columns: dict[str, Any]) -> tuple[Feature, ...]:
    """The sidecar's features, in model order, from the training columns."""
    return (
        Feature.numeric("amount", columns["amount"]),
        Feature.categorical("country", COUNTRIES, columns["country"]),
        Feature.boolean("card_present", columns["card_present"]),
        Feature.numeric("hour", columns["hour"]),
        Feature.categorical("merchant_category", MERCHANTS, columns["merchant_category"]),
        Feature.numeric("age_days", columns["age_days"]),
        Feature.numeric("chargebacks", columns["chargebacks"]),
        Feature.numeric("avg_amount", columns["avg_amount"]),
    )


def train(rows: int, seed: int, out: Path) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    columns, labels = generate(rows, rng)
    features = describe(columns)
    x = np.column_stack([f.codes(columns[f.name]) for f in features]).astype(np.float64)
    out.mkdir(parents=True, exist_ok=True)
    split = int(rows * 0.8)
    info = _train_classifier(features, x, labels, split, seed, out)
    info["anomaly_max_diff_vs_sklearn"] = _train_forest(features, x[:split], seed, out)
    return info


def _train_classifier(
    features: tuple[Feature, ...],
    x: np.ndarray,
    labels: np.ndarray,
    split: int,
    seed: int,
    out: Path,
) -> dict[str, Any]:
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
    info = {
        "rows": len(x),
        "seed": seed,
        "objective": "binary",
        "holdout_auc": round(_auc(booster.predict(x[split:]), labels[split:]), 4),
        "positive_rate": round(float(labels.mean()), 4),
    }
    save_lightgbm(booster, out / "fraud_score.txt", Sidecar(features, VERSION, MAPPING, info))
    return info


def _train_forest(features: tuple[Feature, ...], x: np.ndarray, seed: int, out: Path) -> float:
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(x)
    info = {
        "rows": len(x),
        "seed": seed,
        "estimator": "sklearn.ensemble.IsolationForest",
        "n_estimators": 100,
        "max_samples": 256,
    }
    export_isolation_forest(forest, out / "anomaly.npz", Sidecar(features, VERSION, MAPPING, info))
    return sklearn_agreement(forest, x[:2000])


def _auc(scores: Any, labels: np.ndarray) -> float:
    """Area under the ROC curve by ranks (no scikit-learn metrics needed)."""
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
    print(f"fraud_score, anomaly: {info} -> {args.out}")


if __name__ == "__main__":
    main()
