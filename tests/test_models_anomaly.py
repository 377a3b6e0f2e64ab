"""The isolation-forest adapter: pickle-free export that scores exactly like scikit-learn."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from rulelang.models.anomaly import (
    Forest,
    IsolationForestModel,
    export_isolation_forest,
    forest_from_sklearn,
)
from rulelang.models.base import Model, ModelSignature
from rulelang.models.features import Feature, FitError, Sidecar

np = pytest.importorskip("numpy")
ensemble = pytest.importorskip("sklearn.ensemble")

KINDS = ("a", "b", "c")
MAPPING = {"x": "point.x", "y": "point.y", "kind": "point.kind"}


def _data(n: int = 2000) -> Any:
    rng = np.random.default_rng(11)
    return np.column_stack([rng.normal(0, 1, n), rng.normal(5, 2, n), rng.integers(0, 3, n)])


@pytest.fixture(scope="module")
def fitted() -> Any:
    return ensemble.IsolationForest(n_estimators=50, random_state=3).fit(_data())


@pytest.fixture(scope="module")
def model(fitted: Any, tmp_path_factory: pytest.TempPathFactory) -> IsolationForestModel:
    x = _data()
    card = Sidecar(
        (
            Feature.numeric("x", x[:, 0]),
            Feature.numeric("y", x[:, 1]),
            Feature.categorical("kind", KINDS),
        ),
        "if-1",
        MAPPING,
    )
    path = tmp_path_factory.mktemp("iforest") / "anomaly.npz"
    export_isolation_forest(fitted, path, card)
    return IsolationForestModel.load(path, ("point",))


@pytest.mark.parametrize("max_features", [1.0, 0.67])
def test_scores_equal_scikit_learn(max_features: float) -> None:
    x = _data()
    forest = ensemble.IsolationForest(
        n_estimators=30, max_features=max_features, random_state=0
    ).fit(x)
    probe = np.vstack([x[:300], np.random.default_rng(1).normal(0, 6, (100, 3))])
    ours = forest_from_sklearn(forest).score(probe)
    assert np.max(np.abs(ours + forest.score_samples(probe))) < 1e-12


def test_the_file_is_plain_arrays(model: IsolationForestModel, tmp_path: Path) -> None:
    model.forest.save(tmp_path / "f.npz")
    with zipfile.ZipFile(tmp_path / "f.npz") as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    again = Forest.load(tmp_path / "f.npz")  # allow_pickle=False
    assert np.array_equal(again.threshold, model.forest.threshold)


def test_outliers_score_higher_and_scores_lie_in_0_1(model: IsolationForestModel) -> None:
    assert isinstance(model, Model)
    normal, outlier = model.predict_batch(
        [({"x": 0.0, "y": 5.0, "kind": "b"},), ({"x": 9.0, "y": -20.0, "kind": "b"},)]
    )
    assert 0 < normal.value < outlier.value <= 1
    assert normal.confidence is None
    assert model.predict(({"x": 0.0, "y": 5.0, "kind": "b"},)) == normal


def test_unseen_category_is_no_answer(model: IsolationForestModel) -> None:
    unseen = model.predict(({"x": 0.0, "y": 5.0, "kind": "zzz"},))
    assert unseen.value is None
    assert unseen.detail == {"reason": "`point.kind` is missing or a level never seen in training"}


def test_missing_numbers_and_bad_input_are_no_answer(model: IsolationForestModel) -> None:
    missing, bad, good = model.predict_batch(
        [
            ({"y": 5.0, "kind": "a"},),
            ({"x": "?", "y": 1, "kind": "a"},),
            ({"x": 0, "y": 5, "kind": "a"},),
        ]
    )
    assert missing.value is None and missing.detail == {"reason": "`point.x` is missing"}
    assert bad.value is None and "not a number" in (bad.detail or {})["reason"]
    assert good.value is not None


def test_declaration_checks(model: IsolationForestModel) -> None:
    assert model.binding_problems(ModelSignature("anomaly", ("point",), "score")) == []
    problems = model.binding_problems(ModelSignature("anomaly", ("point",), "text"))
    assert problems == [
        "an anomaly score answers score or number, but the model is declared `-> text`"
    ]


def test_export_checks_the_feature_count(fitted: Any, tmp_path: Path) -> None:
    with pytest.raises(FitError, match="3 features, the sidecar 1"):
        export_isolation_forest(
            fitted, tmp_path / "a.npz", Sidecar((Feature("x", "numeric"),), "v")
        )


def test_the_fraud_example_anomaly_model() -> None:
    path = Path(__file__).parent.parent / "examples" / "fraud" / "models" / "anomaly.npz"
    model = IsolationForestModel.load(path, ("txn", "account"))
    usual = (
        {
            "amount": 60,
            "country": "FR",
            "card_present": True,
            "hour": 13,
            "merchant_category": "grocery",
        },
        {"age_days": 1500, "chargebacks": 0, "avg_amount": 55},
    )
    odd = (
        {
            "amount": 49000,
            "country": "NG",
            "card_present": False,
            "hour": 3,
            "merchant_category": "luxury",
        },
        {"age_days": 2, "chargebacks": 9, "avg_amount": 20},
    )
    low, high = model.predict_batch([usual, odd])
    assert low.value < 0.5 < high.value
