"""models.yaml and ModelRegistry: bindings checked against declarations, all errors at once."""

from __future__ import annotations

import importlib.util
import shutil
import textwrap
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rulelang.errors import ModelBindingFailed
from rulelang.models.anomaly import IsolationForestModel
from rulelang.models.base import Answer, CallableModel, Model, ModelSignature
from rulelang.models.lightgbm import LightGBMModel
from rulelang.models.registry import (
    ModelRegistry,
    bind_config,
    check_bindings,
    load_models_yaml,
)
from rulelang.models.similarity import SimilarityModel

EXAMPLES = Path(__file__).parent.parent / "examples"
RETAIL_FACTS = {
    "item": {
        "sku": "text",
        "category": "text",
        "description": "text",
        "base_price": "money",
        "cost": "money",
        "stock": "int",
        "new_collection": "bool",
    },
    "customer": {"tier": "text", "lifetime_value": "money"},
    "order": {"discount": "percent", "channel": "text"},
}
FRAUD_FACTS = {
    "txn": {
        "amount": "money",
        "country": "text",
        "card_present": "bool",
        "hour": "int",
        "merchant_category": "text",
    },
    "account": {"age_days": "int", "chargebacks": "int", "avg_amount": "money"},
}


def retail_signatures(**changes: ModelSignature) -> dict[str, ModelSignature]:
    sigs = {
        "fraud_risk": ModelSignature(
            "fraud_risk",
            ("customer", "order", "item"),
            "score",
            min_confidence=0.8,
            facts_fields=RETAIL_FACTS,
        ),
        "similarity": ModelSignature(
            "similarity",
            ("text", "text"),
            "number",
            fallback=0,
            has_fallback=True,
            facts_fields=RETAIL_FACTS,
        ),
    }
    return sigs | changes


def fraud_signatures() -> dict[str, ModelSignature]:
    return {
        name: ModelSignature(name, ("txn", "account"), "score", facts_fields=FRAUD_FACTS)
        for name in ("fraud_score", "anomaly")
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the retail example's models, to write broken yaml beside."""
    shutil.copytree(EXAMPLES / "retail" / "models", tmp_path / "models")
    return tmp_path


def write(directory: Path, text: str) -> Path:
    path = directory / "models.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def messages(path: Path, sigs: Mapping[str, ModelSignature], **kw: Any) -> list[str]:
    with pytest.raises(ModelBindingFailed) as info:
        load_models_yaml(path, sigs, **kw)
    assert all(f"error[E403]: {m}" in str(info.value) for m in info.value.messages)
    return list(info.value.messages)


# --------------------------------------------------------------------------- examples


def test_the_retail_example_binds() -> None:
    models = load_models_yaml(EXAMPLES / "retail" / "models.yaml", retail_signatures())
    assert set(models) == {"fraud_risk", "similarity"}
    fraud, similarity = models["fraud_risk"], models["similarity"]
    assert isinstance(fraud, LightGBMModel) and fraud.version == "2026-11-01"
    assert isinstance(similarity, SimilarityModel)
    assert similarity.phrases == ("evening gown",) and not similarity.loaded
    answer = fraud.predict(
        (
            {"tier": "gold", "lifetime_value": Decimal("900")},
            {"discount": Decimal("0.1"), "channel": "app"},
            {"category": "shoes", "base_price": Decimal("450"), "new_collection": False},
        )
    )
    assert isinstance(answer, Answer) and 0 <= answer.value <= 1 and answer.confidence == 1.0


def test_the_fraud_example_binds() -> None:
    models = load_models_yaml(EXAMPLES / "fraud" / "models.yaml", fraud_signatures())
    assert isinstance(models["fraud_score"], LightGBMModel)
    assert isinstance(models["anomaly"], IsolationForestModel)
    txn = {
        "amount": Decimal("80"),
        "country": "DE",
        "card_present": True,
        "hour": 12,
        "merchant_category": "grocery",
    }
    account = {"age_days": 900, "chargebacks": 0, "avg_amount": Decimal("70")}
    for model in models.values():
        value = model.predict((txn, account)).value
        assert value is not None and 0 <= value <= 1


# --------------------------------------------------------------------------- errors


def test_every_problem_is_listed_at_once(workdir: Path) -> None:
    path = write(
        workdir,
        """\
        fraud_risk:
          kind: lightgbm
          path: models/fraud_risk.txt
          features:
            price: item.base_prise
            category: itme.category
            new_collection: item.new_collection
            tier: customer.tier
            lifetime_value: customer.lifetime_value
            discount: order.discount
            channel: order.channel
            colour: item.sku
          confidence: in_distribution
        similarity:
          kind: similarity
          phrases: ["evening gown"]
          cache_sise: 10
        spam:
          kind: regex
        """,
    )
    found = messages(
        path,
        retail_signatures(
            fraud_risk=ModelSignature(
                "fraud_risk", ("customer", "order", "item"), "bool", facts_fields=RETAIL_FACTS
            ),
            ranker=ModelSignature("ranker", ("item",), "number"),
        ),
    )
    expected = [
        "spam: bound in",
        "but the policy declares no model `spam`",
        "ranker: declared by the policy but",
        "does not bind it",
        "fraud_risk: a LightGBM binary classifier (objective `binary`) answers number or "
        "score, but the model is declared `-> bool`",
        "fraud_risk: feature mapping names `colour`, which the model does not have",
        "fraud_risk: feature `price`: path `item.base_prise`: facts block `item` has no field "
        "`base_prise`; did you mean `base_price`?",
        "fraud_risk: feature `category`: path `itme.category`: `itme` is not a parameter of "
        "the model (parameters: customer, order, item); did you mean `item`?",
        "similarity: unknown key `cache_sise` for kind similarity (did you mean `cache_size`?)",
    ]
    text = "\n".join(found)
    for piece in expected:
        assert piece in text
    assert len(found) == 7


def test_unknown_kind_and_missing_keys(workdir: Path) -> None:
    path = write(
        workdir,
        """\
        fraud_risk: {kind: lightgbn}
        similarity: {kind: python}
        """,
    )
    found = messages(path, retail_signatures())
    assert found == [
        "fraud_risk: unknown kind `lightgbn` (did you mean `lightgbm`?) "
        "(one of lightgbm, isolation_forest, similarity, python)",
        "similarity: kind python needs `callable`",
    ]


def test_missing_files_and_sidecars(workdir: Path) -> None:
    (workdir / "models" / "fraud_risk.json").unlink()
    path = write(
        workdir,
        """\
        fraud_risk: {kind: lightgbm, path: models/fraud_risk.txt}
        similarity: {kind: similarity, model_path: nowhere/minilm}
        """,
    )
    found = messages(path, retail_signatures())
    assert found[0].startswith("fraud_risk: no sidecar next to the model file")
    assert found[1].startswith("similarity: `model_path`: nowhere/minilm not found")


def test_feature_names_must_match_the_booster(workdir: Path) -> None:
    path = write(
        workdir,
        """\
        fraud_risk:
          kind: lightgbm
          path: models/fraud_risk.txt
          features: {price: item.base_price}
        similarity: {kind: similarity}
        """,
    )
    found = messages(path, retail_signatures())
    assert "fraud_risk: feature `tier` of the model has no path in the feature mapping" in found
    assert len(found) == 6  # one per unmapped feature


def test_similarity_must_be_declared_text_text_number(workdir: Path) -> None:
    path = write(workdir, "similarity: {kind: similarity}\n")
    found = messages(path, {"similarity": ModelSignature("similarity", ("text",), "score")})
    assert found == [
        "similarity: a similarity model takes (text, text), but is declared with (text)",
        "similarity: a similarity model answers number (cosine, -1 .. 1), "
        "but is declared `-> score`",
    ]


def test_wrong_value_types_are_reported(workdir: Path) -> None:
    path = write(
        workdir,
        """\
        fraud_risk:
          kind: lightgbm
          path: models/fraud_risk.txt
          features: [price]
          tolerance: lots
        similarity: {kind: similarity, phrases: "evening gown", cache_size: -1}
        """,
    )
    found = messages(path, retail_signatures())
    assert "fraud_risk: `features` must be a mapping, got list" in found
    assert "fraud_risk: `tolerance` must be an integer or a number, got str" in found
    assert "similarity: `phrases` must be a list, got str" in found
    assert "similarity: `cache_size` must be 0 or more" in found


def test_bad_yaml_and_bad_shape(tmp_path: Path) -> None:
    assert messages(write(tmp_path, "a: [unclosed\n"), {})[0].startswith("not valid YAML")
    assert messages(write(tmp_path, "- a\n- b\n"), {})[0].startswith("expected a mapping")
    assert messages(tmp_path / "absent.yaml", {})[0].startswith("cannot read the file")


def test_require_all_off_allows_partial_files(workdir: Path) -> None:
    path = write(workdir, "similarity: {kind: similarity}\n")
    assert set(load_models_yaml(path, retail_signatures(), require_all=False)) == {"similarity"}


def test_missing_ml_extra_is_named(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "lightgbm" else real(name, *a)
    )
    path = write(workdir, "fraud_risk: {kind: lightgbm, path: models/fraud_risk.txt}\n")
    found = messages(path, retail_signatures(), require_all=False)
    assert found == [
        "fraud_risk: needs `lightgbm`, not installed; "
        "install the ML extra: pip install 'rulelang[ml]'"
    ]


# --------------------------------------------------------------------------- python kind


@pytest.fixture
def helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_models_for_test.py").write_text(
        textwrap.dedent("""\
        def velocity(txn, account):
            return 0.25, 0.9

        velocity.version = "7"

        def one_arg(txn):
            return 1.0

        def batch(rows):
            return [0.5 for _ in rows]

        class Scorer:
            version = "s1"
            def predict(self, args):
                return 0.1
            def predict_batch(self, rows):
                return [0.1 for _ in rows]

        scorer = Scorer()
        """),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_models_for_test"


def test_python_callables(tmp_path: Path, helpers: str) -> None:
    path = write(
        tmp_path,
        f"""\
        fraud_score: {{kind: python, callable: "{helpers}:velocity"}}
        anomaly: {{kind: python, callable: "{helpers}:scorer"}}
        """,
    )
    models = load_models_yaml(path, fraud_signatures())
    assert isinstance(models["fraud_score"], CallableModel)
    assert models["fraud_score"].version == "7"
    assert models["fraud_score"].predict(({}, {})) == (0.25, 0.9)
    assert models["anomaly"].version == "s1"


def test_python_callable_problems(tmp_path: Path, helpers: str) -> None:
    path = write(
        tmp_path,
        f"""\
        fraud_score: {{kind: python, callable: "{helpers}:one_arg", version: 2026-11-01}}
        anomaly: {{kind: python, callable: "{helpers}:velocty"}}
        other: {{kind: python, callable: "no_such_module_xyz:f"}}
        """,
    )
    sigs = fraud_signatures() | {"other": ModelSignature("other", (), "number")}
    found = messages(path, sigs)
    assert found[0].startswith("fraud_score: the callable `one_arg(txn)` cannot take the 2 ")
    assert found[1] == (
        "anomaly: `callable`: `my_models_for_test` has no callable `velocty` "
        "(did you mean `velocity`?)"
    )
    assert found[2].startswith("other: `callable`: cannot import module `no_such_module_xyz`")


def test_unquoted_dates_are_versions(tmp_path: Path, helpers: str) -> None:
    path = write(
        tmp_path,
        f"""\
        fraud_score: {{kind: python, callable: "{helpers}:velocity", version: 2026-11-01,
                      batch_callable: "{helpers}:batch"}}
        """,
    )
    model = load_models_yaml(path, fraud_signatures(), require_all=False)["fraud_score"]
    assert model.version == "2026-11-01"
    assert model.predict_batch([({}, {}), ({}, {})]) == [0.5, 0.5]


def test_bind_config_takes_a_parsed_mapping() -> None:
    config = {"similarity": {"kind": "similarity", "phrases": ["x"]}}
    models = bind_config(config, retail_signatures(), require_all=False)
    assert isinstance(models["similarity"], SimilarityModel)


# --------------------------------------------------------------------------- registry


def test_registry_register_add_and_freeze() -> None:
    registry = ModelRegistry()

    @registry.register("fraud_score", version="3")
    def velocity(txn: Any, account: Any) -> float:
        return 0.3

    registry.add("anomaly", lambda txn, account: 0.1)
    assert velocity({}, {}) == 0.3  # the decorator returns the function unchanged
    frozen = registry.freeze(fraud_signatures())
    assert set(frozen) == {"fraud_score", "anomaly"}
    assert all(isinstance(m, Model) for m in frozen.values())
    assert frozen["fraud_score"].version == "3"
    with pytest.raises(TypeError):
        frozen["x"] = frozen["anomaly"]  # type: ignore[index]
    with pytest.raises(RuntimeError, match="frozen"):
        registry.add("late", lambda: 0)


def test_registry_refuses_duplicates() -> None:
    registry = ModelRegistry()
    registry.add("a", lambda: 0)
    with pytest.raises(ValueError, match="already bound"):
        registry.add("a", lambda: 1)


def test_registry_with_yaml_and_python_checks_everything() -> None:
    registry = ModelRegistry()
    registry.load_yaml(EXAMPLES / "retail" / "models.yaml", retail_signatures())
    assert "fraud_risk" in registry
    registry.add("extra", lambda x: x)
    sigs = retail_signatures(
        similarity=ModelSignature("similarity", ("text", "text"), "bool"),
        ranker=ModelSignature("ranker", ("item",), "number"),
    )
    with pytest.raises(ModelBindingFailed) as info:
        registry.freeze(sigs)
    assert list(info.value.messages) == [
        "extra: bound in the model registry but the policy declares no model `extra`",
        "ranker: declared by the policy but the model registry does not bind it",
        "similarity: a similarity model answers number (cosine, -1 .. 1), "
        "but is declared `-> bool`",
    ]


def test_check_bindings_on_a_plain_mapping() -> None:
    assert (
        check_bindings(
            {"fraud_risk": lambda *a: 0.5, "similarity": lambda a, b: 0.0}, retail_signatures()
        )
        == []
    )
