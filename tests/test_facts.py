"""Fact validation: `facts` declarations -> validated run-time facts, or one FactError.

LANGUAGE.md: a decision takes one value per facts block, as a mapping or a pydantic
model of the same shape; input is validated before any rule runs, and a bad fact gets
an error naming every bad field (path, expected, got).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from conftest import HEAD, ITEM, RETAIL, Recorder, exact, facts, retail_facts
from pydantic import BaseModel

import rulelang
from rulelang.errors import FactError

ALWAYS = """
model spy(item) -> number
  fallback 0
end

rule always
  when spy(item) >= 0
  then rank = 2.0
end

rule with_ltv
  when item.ltv ?? 0 > 500
  then out = item.ltv ?? 0
end
"""


@pytest.fixture
def spy() -> Recorder:
    return Recorder(1.0)


@pytest.fixture
def policy(spy: Recorder) -> rulelang.CompiledPolicy:
    return rulelang.open_source(HEAD + ALWAYS, name="t.rule", models={"spy": spy})


def issues(policy: rulelang.CompiledPolicy, data: Any) -> list[tuple[str, str, str]]:
    """(path, expected, got) of every bad field."""
    with pytest.raises(FactError) as info:
        policy.decide(data)
    return [(i.path, i.expected, i.got) for i in info.value.issues]


def test_a_bad_fact_names_every_bad_field_and_no_rule_runs(
    policy: rulelang.CompiledPolicy, spy: Recorder
) -> None:
    bad = facts(price="cheap", stock=-1, category="hats", vip="yes", discount=1.5)
    assert issues(policy, bad) == [
        ("item.price", "money in 0 .. 1000", "'cheap'"),
        ("item.stock", "int in 0 .. 100", "-1"),
        ("item.category", 'one of "bags", "shoes"', "'hats'"),
        ("item.discount", "percent in 0 .. 1", "1.5"),
        ("item.vip", "true or false", "'yes'"),
    ]
    assert spy.calls == []  # no rule was evaluated: the model was never asked


def test_the_error_message_lists_each_field(policy: rulelang.CompiledPolicy) -> None:
    with pytest.raises(FactError) as info:
        policy.decide(facts(stock=2.5, category="hats"))
    assert str(info.value) == (
        "bad facts:\n"
        "  item.stock: expected int in 0 .. 100, got 2.5\n"
        '  item.category: expected one of "bags", "shoes", got \'hats\''
    )
    assert info.value.to_dict() == {
        "type": "bad_facts",
        "issues": [
            {"path": "item.stock", "expected": "int in 0 .. 100", "got": "2.5"},
            {"path": "item.category", "expected": 'one of "bags", "shoes"', "got": "'hats'"},
        ],
    }


def test_missing_fields_and_blocks_are_named(policy: rulelang.CompiledPolicy) -> None:
    item = {k: v for k, v in ITEM.items() if k not in ("cost", "vip")}
    assert issues(policy, {"item": item}) == [
        ("item.cost", "money in 0 .. 1000", "nothing"),
        ("item.vip", "true or false", "nothing"),
    ]
    assert issues(policy, {}) == [("item", "an object with the fields of `item`", "nothing")]


@pytest.mark.parametrize("data", [[], "item", None, 3])
def test_facts_must_be_an_object(policy: rulelang.CompiledPolicy, data: Any) -> None:
    [(path, expected, _)] = issues(policy, data)
    assert (path, expected) == ("", "an object with `item`")


def test_a_block_that_is_not_an_object(policy: rulelang.CompiledPolicy) -> None:
    assert issues(policy, {"item": 3}) == [("item", "an object with the fields of `item`", "3")]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("price", "1000.01", "money in 0 .. 1000"),
        ("price", -0.01, "money in 0 .. 1000"),
        ("stock", 101, "int in 0 .. 100"),
        ("score", 10.0001, "number in 0.0 .. 10.0"),
        ("score", math.nan, "number in 0.0 .. 10.0"),
        ("score", math.inf, "number in 0.0 .. 10.0"),
        ("price", math.inf, "money in 0 .. 1000"),
        ("discount", "-0.01", "percent in 0 .. 1"),
        ("discount", "1.01", "percent in 0 .. 1"),
        ("discount", "15%", "percent in 0 .. 1"),
        ("category", "Bags", 'one of "bags", "shoes"'),
        ("category", True, 'one of "bags", "shoes"'),
        ("vip", 1, "true or false"),
        ("vip", "true", "true or false"),
        ("ltv", "lots", "money in 0 .. 100000 (optional)"),
        ("ltv", 100000.5, "money in 0 .. 100000 (optional)"),
    ],
)
def test_ranges_and_enums_are_enforced(
    policy: rulelang.CompiledPolicy, field: str, value: Any, expected: str
) -> None:
    [(path, got_expected, _)] = issues(policy, facts(**{field: value}))
    assert (path, got_expected) == (f"item.{field}", expected)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", 0),
        ("price", 1000),
        ("price", "1000.00"),
        ("stock", 0),
        ("stock", 100),
        ("score", 0),
        ("score", 10),
        ("discount", 0),
        ("discount", 1),
        ("category", "shoes"),
    ],
)
def test_range_ends_are_valid(policy: rulelang.CompiledPolicy, field: str, value: Any) -> None:
    assert policy.decide(facts(**{field: value})).error is None


def test_an_excluded_upper_end_is_enforced() -> None:
    policy = rulelang.open_source(HEAD.replace("stock: int in 0 .. 100", "stock: int in 0 ..< 100"))
    assert policy.decide(facts(stock=99)).error is None
    assert issues(policy, facts(stock=100)) == [("item.stock", "int in 0 ..< 100", "100")]


def test_validated_facts_are_in_run_time_form(policy: rulelang.CompiledPolicy) -> None:
    checked = policy.validator.validate(facts(price=0.1, discount="0.25", score=3, stock=7))
    assert exact(checked["item"]) == exact(
        {
            "price": Decimal("0.1"),
            "cost": Decimal("50.00"),
            "stock": 7,
            "category": "bags",
            "score": 3.0,
            "discount": Decimal("0.25"),
            "vip": False,
        }
    )


def test_numbers_are_not_read_from_bools_or_text(policy: rulelang.CompiledPolicy) -> None:
    # Lax parsing would take `true` as 1 and "7" as 7: a mangled upstream row would slip by.
    bad = facts(stock=True, score=False, vip=1)
    assert sorted(issues(policy, bad)) == [
        ("item.score", "number in 0.0 .. 10.0", "False"),
        ("item.stock", "int in 0 .. 100", "True"),
        ("item.vip", "true or false", "1"),
    ]
    assert issues(policy, facts(stock="7")) == [("item.stock", "int in 0 .. 100", "'7'")]


def test_an_optional_field_may_be_missing_or_null(policy: rulelang.CompiledPolicy) -> None:
    missing = policy.decide(facts())
    assert missing.fired == ("always",) and missing.outputs["out"] == Decimal("100.00")
    null = policy.decide(facts(ltv=None))
    assert null.fired == ("always",)
    given = policy.decide(facts(ltv="600.50"))
    assert given.fired == ("always", "with_ltv")
    assert given.outputs["out"] == Decimal("600.50")


def test_a_required_field_may_not_be_null(policy: rulelang.CompiledPolicy) -> None:
    assert issues(policy, facts(cost=None)) == [("item.cost", "money in 0 .. 1000", "None")]


def test_optional_fields_of_the_retail_example(retail: rulelang.CompiledPolicy) -> None:
    data = retail_facts()
    assert "lifetime_value" not in data["customer"]
    assert retail.decide(data).action == "allow"
    data["customer"]["lifetime_value"] = -1
    assert issues(retail, data) == [
        ("customer.lifetime_value", "money in 0 .. 10000000 (optional)", "-1")
    ]


def test_unknown_fields_are_ignored_by_default(policy: rulelang.CompiledPolicy) -> None:
    decision = policy.decide({**facts(row_id=17, loaded_at="2026-11-01"), "audit": {"x": 1}})
    assert decision.error is None and decision.fired == ("always",)


def test_strict_fields_rejects_unknown_fields_with_a_hint() -> None:
    policy = rulelang.open_source(HEAD, strict_fields=True)
    with pytest.raises(FactError) as info:
        policy.decide({**facts(ltvv=3), "itme": {}})
    found = {(i.path, i.expected, i.message) for i in info.value.issues}
    assert found == {
        ("item.ltvv", "no such field", "`ltvv` is not a field of `item`; did you mean `ltv`?"),
        ("itme", "no such field", "`itme` is not a facts block; did you mean `item`?"),
    }
    assert policy.decide(facts()).error is None


def test_strict_fields_through_load() -> None:
    policy = rulelang.open_policy(
        RETAIL,
        models={"fraud_risk": Recorder((0.1, 0.9)), "similarity": Recorder(0.0)},
        strict_fields=True,
    )
    data = retail_facts(colour="red")
    assert issues(policy, data) == [("item.colour", "no such field", "'red'")]


# ---- pydantic models as input -------------------------------------------------------------


class Item(BaseModel):
    price: Decimal
    cost: Decimal
    stock: int
    category: str
    score: float
    discount: Decimal
    vip: bool
    ltv: Decimal | None = None


class Facts(BaseModel):
    item: Item


def test_a_pydantic_model_decides_as_its_mapping_does(policy: rulelang.CompiledPolicy) -> None:
    model = Facts(item=Item(**{**ITEM, "ltv": "700"}))
    from_model = policy.decide(model)
    from_mapping = policy.decide(facts(ltv="700"))
    assert exact(from_model.outputs) == exact(from_mapping.outputs)
    assert from_model.fired == from_mapping.fired == ("always", "with_ltv")


def test_a_pydantic_model_is_validated_too(policy: rulelang.CompiledPolicy) -> None:
    model = Facts(item=Item(**{**ITEM, "stock": 500, "category": "hats"}))
    assert [path for path, _, _ in issues(policy, model)] == ["item.stock", "item.category"]


def test_a_pydantic_model_of_another_shape_is_rejected(policy: rulelang.CompiledPolicy) -> None:
    class Other(BaseModel):
        product: Item

    [(path, _, got)] = issues(policy, Other(product=Item(**ITEM)))
    assert (path, got) == ("item", "nothing")
