"""The LightGBM adapter: features from facts, probabilities, confidence, contributions."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulelang.models.base import Answer, Model, ModelSignature
from rulelang.models.features import Feature, FitError, Sidecar
from rulelang.models.lightgbm import LightGBMModel, save_lightgbm

lgb = pytest.importorskip("lightgbm")
np = pytest.importorskip("numpy")

COLORS = ("red", "green", "blue")
PARAMS = ("order", "customer")
MAPPING = {
    "amount": "order.amount",
    "color": "order.color",
    "express": "order.express",
    "age": "customer.age",
}
FACTS = {
    "order": {"amount": "money", "color": "text", "express": "bool"},
    "customer": {"age": "int", "name": "text"},
}
SIG = ModelSignature("risk", PARAMS, "score", facts_fields=FACTS)


def _train(directory: Path) -> Path:
    rng = np.random.default_rng(7)
    n = 3000
    amount = rng.uniform(0, 100, n)
    color = rng.choice(COLORS, n)
    express = rng.random(n) < 0.3
    age = [
        None if m else float(a)
        for a, m in zip(rng.integers(18, 90, n), rng.random(n) < 0.1, strict=True)
    ]
    features = (
        Feature.numeric("amount", amount),
        Feature.categorical("color", COLORS, color),
        Feature.boolean("express", express),
        Feature.numeric("age", age),
    )
    columns = {"amount": amount, "color": color, "express": express, "age": age}
    x = np.column_stack([f.codes(columns[f.name]) for f in features])
    logit = (amount - 50) / 15 + (color == "red") * 1.5 - express * 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train(
        {
            "objective": "binary",
            "num_leaves": 7,
            "verbose": -1,
            "seed": 1,
            "num_threads": 1,
            "deterministic": True,
            "min_data_per_group": 5,
        },
        lgb.Dataset(x, y, feature_name=list(columns), categorical_feature=["color"]),
        num_boost_round=30,
    )
    path = directory / "risk.txt"
    save_lightgbm(booster, path, Sidecar(features, "v1", MAPPING, {"rows": n}))
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tmp_path_factory.mktemp("lgb"))


@pytest.fixture(scope="module")
def model(model_path: Path) -> LightGBMModel:
    return LightGBMModel.load(model_path, PARAMS, signature=SIG)


def row(
    amount: Any = 40, color: Any = "green", express: Any = False, age: Any = 30
) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"amount": amount, "color": color, "express": express}, {"age": age, "name": "x"}


def test_is_a_model_with_the_sidecar_version(model: LightGBMModel) -> None:
    assert isinstance(model, Model)
    assert model.version == "v1"
    assert model.objective == "binary"
    assert model.features.names == ("amount", "color", "express", "age")


def test_probabilities_lie_in_0_1_and_follow_the_signal(model: LightGBMModel) -> None:
    low = model.predict(row(amount=5, color="blue", express=True))
    high = model.predict(row(amount=95, color="red"))
    for answer in (low, high):
        assert isinstance(answer, Answer)
        assert 0.0 <= answer.value <= 1.0
        assert answer.source == "model"
    assert high.value > 0.8 > 0.2 > low.value


def test_decimal_money_and_float_give_the_same_answer(model: LightGBMModel) -> None:
    assert model.predict(row(amount=Decimal("42.50"))) == model.predict(row(amount=42.5))


def test_batch_equals_single(model: LightGBMModel) -> None:
    rng = np.random.default_rng(3)
    rows: list[tuple[Any, ...]] = [
        row(amount=float(a), color=str(c), express=bool(e), age=int(g))
        for a, c, e, g in zip(
            rng.uniform(-20, 140, 200),
            rng.choice([*COLORS, "pink"], 200),
            rng.random(200) < 0.5,
            rng.integers(0, 120, 200),
            strict=True,
        )
    ]
    rows.insert(5, ("not", "facts"))
    rows.insert(9, row(amount="lots"))
    batch = model.predict_batch(rows)
    assert len(batch) == len(rows)
    for args, answer in zip(rows, batch, strict=True):
        single = model.predict(args)
        assert answer.confidence == single.confidence
        assert answer.detail == single.detail
        if single.value is None:
            assert answer.value is None
        else:
            assert answer.value == pytest.approx(single.value, abs=1e-12)


def test_empty_batch(model: LightGBMModel) -> None:
    assert model.predict_batch([]) == []


def test_contributions_sum_to_the_raw_margin(model: LightGBMModel) -> None:
    args = row(amount=77, color="red", express=True, age=None)
    answer = model.explain(args, top=0)
    detail = answer.detail
    assert detail is not None
    assert set(detail["contributions"]) == set(model.features.names)
    total = sum(detail["contributions"].values()) + detail["bias"]
    raw = model.booster.predict(np.array([model.features.encode(args)[0]]), raw_score=True)[0]
    assert total == pytest.approx(raw, abs=1e-9)
    assert detail["raw_score"] == pytest.approx(raw, abs=1e-9)
    assert 1 / (1 + math.exp(-raw)) == pytest.approx(answer.value, abs=1e-9)


def test_explain_keeps_the_top_contributions_by_magnitude(model: LightGBMModel) -> None:
    full = model.explain(row(amount=90, color="red")).detail
    assert full is not None
    top2 = model.explain(row(amount=90, color="red"), top=2).detail
    assert top2 is not None
    magnitudes = [abs(v) for v in full["contributions"].values()]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert len(full["contributions"]) == 4  # top 5 of 4 features
    assert list(top2["contributions"]) == list(full["contributions"])[:2]


def test_predict_with_explain_is_explain(model: LightGBMModel) -> None:
    args = row(amount=60)
    assert model.predict(args, explain=True) == model.explain(args)
    assert model.predict(args).detail is None  # the fast path computes no contributions


def test_in_distribution_inputs_get_full_confidence(model: LightGBMModel) -> None:
    assert model.predict(row()).confidence == 1.0
    assert model.predict(row(age=None)).confidence == 1.0  # training had missing ages


def test_out_of_range_lowers_confidence(model: LightGBMModel) -> None:
    one = model.predict(row(amount=500))
    two = model.predict(row(amount=-5, age=150))
    assert one.confidence == 0.5
    assert one.detail == {"out_of_distribution": ["amount"]}
    assert two.confidence == 0.25
    assert two.detail == {"out_of_distribution": ["amount", "age"]}
    assert one.value is not None and 0 <= one.value <= 1


def test_unseen_category_is_missing_to_lightgbm_and_lowers_confidence(
    model: LightGBMModel,
) -> None:
    unseen = model.predict(row(color="purple"))
    assert unseen.confidence == 0.5
    assert unseen.detail == {"out_of_distribution": ["color"]}
    missing = model.booster.predict(np.array([[40.0, math.nan, 0.0, 30.0]]))[0]
    assert unseen.value == pytest.approx(missing, abs=1e-12)


def test_missing_value_never_seen_in_training_lowers_confidence(model: LightGBMModel) -> None:
    order, customer = row()
    del order["amount"]
    answer = model.predict((order, customer))
    assert answer.value is not None
    assert answer.confidence == 0.5


def test_tolerance_widens_the_training_range(model_path: Path) -> None:
    widened = LightGBMModel.load(model_path, PARAMS, tolerance=0.1)
    assert widened.predict(row(amount=105)).confidence == 1.0
    assert widened.predict(row(amount=115)).confidence == 0.5


def test_margin_confidence(model_path: Path) -> None:
    margin = LightGBMModel.load(model_path, PARAMS, confidence="margin")
    answer = margin.predict(row(amount=70))
    assert answer.confidence == pytest.approx(abs(2 * answer.value - 1))


def test_callable_confidence_sees_the_raw_values(model_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def confidence(value: float, raw: Any) -> float:
        seen.append(dict(raw))
        return 0.42

    custom = LightGBMModel.load(model_path, PARAMS, confidence=confidence)
    assert custom.predict(row(amount=Decimal("12"))).confidence == 0.42
    assert seen == [{"amount": Decimal("12"), "color": "green", "express": False, "age": 30}]
    assert [a.confidence for a in custom.predict_batch([row(), row()])] == [0.42, 0.42]


def test_no_confidence_option(model_path: Path) -> None:
    assert (
        LightGBMModel.load(model_path, PARAMS, confidence="none").predict(row()).confidence is None
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (row()[:1], "takes 2 argument(s), got 1"),
        (("order", row()[1]), "argument 1 is not a mapping"),
        (row(amount="12"), "feature `amount` (order.amount): '12' is not a number"),
        (row(express="yes"), "feature `express` (order.express): 'yes' is not a bool"),
    ],
)
def test_bad_input_is_no_answer_with_a_reason(
    model: LightGBMModel, args: tuple[Any, ...], reason: str
) -> None:
    answer = model.predict(args)
    assert answer.value is None
    assert answer.detail is not None and reason in answer.detail["reason"]
    assert model.explain(args).value is None


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=5),
    st.floats(allow_nan=True),
    st.decimals(allow_nan=False, places=2),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(amount=values, color=values, express=values, age=values)
def test_any_facts_give_an_answer_and_never_raise(
    model: LightGBMModel, amount: Any, color: Any, express: Any, age: Any
) -> None:
    answer = model.predict(row(amount, color, express, age))
    assert answer.value is None or 0.0 <= answer.value <= 1.0
    assert answer.value is not None or "reason" in (answer.detail or {})


def test_mapping_problems_are_listed_together(model_path: Path) -> None:
    bad = {
        "amount": "order.amont",
        "colour": "order.color",
        "express": "shipment.express",
        "age": "customer.age",
    }
    with pytest.raises(FitError) as info:
        LightGBMModel.load(model_path, PARAMS, bad, signature=SIG)
    problems = "\n".join(info.value.problems)
    assert "feature `color` of the model has no path" in problems
    assert "names `colour`, which the model does not have; did you mean `color`?" in problems
    assert "`shipment` is not a parameter of the model" in problems
    assert "facts block `order` has no field `amont`; did you mean `amount`?" in problems


def test_binding_problems_against_a_declaration(model: LightGBMModel) -> None:
    assert model.binding_problems(SIG) == []
    assert (
        model.binding_problems(ModelSignature("risk", PARAMS, "number", facts_fields=FACTS)) == []
    )
    wrong = model.binding_problems(ModelSignature("risk", ("customer", "order"), "bool"))
    assert any("declared `-> bool`" in p for p in wrong)
    assert any("built for parameters (order, customer)" in p for p in wrong)
    text_age = {**FACTS, "customer": {"age": "text"}}
    typed = model.binding_problems(ModelSignature("risk", PARAMS, "score", facts_fields=text_age))
    assert typed == ["feature `age` is numeric but `customer.age` is text"]


def test_booster_and_sidecar_must_agree(model_path: Path, tmp_path: Path) -> None:
    card = Sidecar.load(model_path.with_suffix(".json"))
    renamed = Sidecar((Feature("price", "numeric", 0, 1), *card.features[1:]), "v1")
    renamed.save(tmp_path / "other.json")
    with pytest.raises(FitError, match="differ from the sidecar"):
        LightGBMModel.load(model_path, PARAMS, MAPPING, sidecar=tmp_path / "other.json")


def test_positional_paths_for_repeated_blocks_and_scalars(model_path: Path) -> None:
    mapping = {"amount": "$1", "color": "$2.color", "express": "$2.express", "age": "$3.age"}
    params = ("money", "order", "customer")
    model = LightGBMModel.load(model_path, params, mapping)
    order, customer = row(amount=80)
    named = LightGBMModel.load(model_path, PARAMS).predict((order, customer))
    assert model.predict((Decimal("80"), order, customer)) == named


def test_the_retail_example_model_ranks_risky_orders_higher() -> None:
    path = Path(__file__).parent.parent / "examples" / "retail" / "models" / "fraud_risk.txt"
    model = LightGBMModel.load(path, ("customer", "order", "item"))
    safe = (
        {"tier": "vic", "lifetime_value": Decimal("40000")},
        {"discount": Decimal("0"), "channel": "store"},
        {"category": "beauty", "base_price": Decimal("40"), "new_collection": False},
    )
    risky = (
        {"tier": "standard"},
        {"discount": Decimal("0.7"), "channel": "web"},
        {"category": "jewelry", "base_price": Decimal("9000"), "new_collection": True},
    )
    low, high = model.predict_batch([safe, risky])
    assert low.confidence == high.confidence == 1.0
    assert high.value > 3 * low.value
