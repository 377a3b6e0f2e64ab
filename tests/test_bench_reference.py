"""The benchmark workload (benchmarks/): generator, reference function and numpy version.

POLICY.md lists the firing rates its authors measured on 100,000 facts at seed
20240601. A generator with the table's distributions reproduces them within sampling
noise (about 0.15 percentage points for a rule firing on 30 % of facts), so a rule
off by more than 0.3 points means a wrong distribution or a wrong rule.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import gen_facts  # noqa: E402
import reference  # noqa: E402

N = 100_000
SEED = 20240601
TOLERANCE_PP = 0.3
POLICY_RATES = {
    "R01": 6.1, "R02": 2.4, "R03": 3.8, "R04": 0.5, "R05": 1.8, "R06": 11.9, "R07": 29.9,
    "R08": 41.8, "R09": 14.0, "R10": 6.9, "R11": 29.8, "R12": 7.4, "R13": 1.7, "R14": 42.9,
    "R15": 7.3, "R16": 2.4, "R17": 2.4, "R18": 2.1, "R19": 10.0, "R20": 3.7, "R21": 4.0,
}  # fmt: skip
POLICY_ACTIONS = {"allow": 82.1, "block": 10.9, "review": 7.0}
POLICY_FIRED_PER_DECISION = 2.33


@pytest.fixture(scope="module")
def facts() -> list[dict[str, Any]]:
    return list(gen_facts.generate(N, SEED))


@pytest.fixture(scope="module")
def decisions(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [reference.decide(fact) for fact in facts]


def _percent(count: int) -> float:
    return 100.0 * count / N


def test_generator_is_deterministic_and_typed() -> None:
    first = list(gen_facts.generate(200, SEED))
    assert first == list(gen_facts.generate(200, SEED))
    assert first != list(gen_facts.generate(200, SEED + 1))
    for fact in first:
        assert tuple(fact) == gen_facts.FIELDS
        assert isinstance(fact["stock"], int) and isinstance(fact["discount_pct"], int)
        assert isinstance(fact["is_clearance"], bool)
        assert 1.0 <= fact["base_price"] <= 5000.0
        assert round(fact["fraud_score"], 3) == fact["fraud_score"]
        assert round(fact["cost"], 2) == fact["cost"]


def test_generator_fields_stay_in_their_ranges(facts: list[dict[str, Any]]) -> None:
    assert len({fact["sku"] for fact in facts}) == N
    assert {fact["category"] for fact in facts} == set(gen_facts.CATEGORIES)
    assert {fact["discount_pct"] for fact in facts} == {0, *gen_facts.PROMOTIONS}
    assert all(0 <= fact["stock"] <= 500 for fact in facts)
    assert all(1 <= fact["quantity"] <= 40 for fact in facts)
    assert all(0.0 <= fact["fraud_score"] <= 1.0 for fact in facts)
    assert all(0.0 <= fact["customer_lifetime_value"] <= 100000.0 for fact in facts)


def test_firing_rates_match_policy_md(decisions: list[dict[str, Any]]) -> None:
    counts = Counter(rule for decision in decisions for rule in decision["fired"])
    off = {
        rule: (round(_percent(counts[rule]), 2), expected)
        for rule, expected in POLICY_RATES.items()
        if abs(_percent(counts[rule]) - expected) > TOLERANCE_PP
    }
    assert not off, f"rules firing off POLICY.md's rate (measured, expected): {off}"


def test_action_mix_matches_policy_md(decisions: list[dict[str, Any]]) -> None:
    counts = Counter(decision["action"] for decision in decisions)
    for action, expected in POLICY_ACTIONS.items():
        assert abs(_percent(counts[action]) - expected) <= TOLERANCE_PP, action
    fired = sum(len(decision["fired"]) for decision in decisions) / N
    assert abs(fired - POLICY_FIRED_PER_DECISION) <= 0.02


def test_fired_is_ascending_and_action_follows_it(decisions: list[dict[str, Any]]) -> None:
    for decision in decisions[:5000]:
        fired = decision["fired"]
        assert fired == sorted(set(fired))
        if set(fired) & set(reference.BLOCKING):
            assert decision["action"] == "block"
        elif set(fired) & set(reference.REVIEWING):
            assert decision["action"] == "review"
        else:
            assert decision["action"] == "allow"


def test_numpy_version_agrees_on_every_fact(
    facts: list[dict[str, Any]], decisions: list[dict[str, Any]]
) -> None:
    result = reference.decide_columns(reference.to_columns(facts))
    rows = reference.column_rows(result)
    # Same float operations in the same order, so equal bit for bit, not just same().
    bad = [i for i, (a, b) in enumerate(zip(decisions, rows, strict=True)) if a != b]
    assert not bad, f"{len(bad)} facts differ, first {facts[bad[0]]}"


def test_same_implements_the_verification_rule() -> None:
    base = {"final_price": 10.0, "rank_boost": 1.15, "action": "allow", "fired": ["R07"]}
    assert reference.same(base, dict(base, final_price=10.0 + 5e-7))
    assert not reference.same(base, dict(base, final_price=10.0 + 2e-6))
    assert reference.same(base, dict(base, rank_boost=1.15 + 5e-10))
    assert not reference.same(base, dict(base, rank_boost=1.15 + 2e-9))
    assert not reference.same(base, dict(base, action="review"))
    assert not reference.same(base, dict(base, fired=["R07", "R11"]))


@pytest.mark.parametrize(
    ("changes", "fired", "price"),
    [
        ({}, [], 100.0),
        ({"stock": 0}, ["R01"], 100.0),
        ({"customer_tier": "vic", "is_new_collection": True}, ["R07", "R18"], 90.0),
        ({"customer_tier": "gold", "is_clearance": True}, ["R06", "R07"], 85.0),
        ({"is_clearance": True, "is_new_collection": True}, ["R06"], 90.0),
        (
            {"is_clearance": True, "discount_pct": 5, "is_new_collection": True},
            ["R06", "R09"],
            90.0,
        ),
        ({"category": "grocery"}, ["R15", "R21"], 50.0),
        ({"category": "grocery", "cost": 60.0}, ["R15", "R16", "R21"], 50.0),
        ({"discount_pct": 90}, ["R10", "R14"], 55.0),
        ({"channel": "app"}, ["R11"], 98.0),
        ({"category": "toys", "competitor_price": 80.0}, ["R12"], 80.0),
        ({"category": "jewelry", "region": "LATAM"}, ["R13"], 108.0),
        ({"category": "jewelry", "channel": "marketplace"}, ["R04"], 100.0),
        ({"fraud_score": 0.85}, ["R02"], 100.0),
        ({"fraud_score": 0.6}, ["R03"], 100.0),
        ({"account_age_days": 29, "base_price": 500.0}, ["R17"], 500.0),
        ({"stock": 4, "customer_lifetime_value": 10000.0}, ["R19", "R20"], 100.0),
    ],
)
def test_decide_on_hand_made_facts(changes: dict[str, Any], fired: list[str], price: float) -> None:
    fact = dict(_plain_fact(), **changes)
    decision = reference.decide(fact)
    assert decision["fired"] == fired
    assert decision["final_price"] == pytest.approx(price)


def _plain_fact() -> dict[str, Any]:
    """A fact on which no rule fires: price 100, cost 50, standard customer."""
    return {
        "sku": "SKU-0000001", "category": "apparel", "base_price": 100.0, "cost": 50.0,
        "stock": 50, "is_new_collection": False, "is_clearance": False,
        "customer_tier": "standard", "customer_lifetime_value": 100.0,
        "account_age_days": 400, "days_since_last_order": 10, "discount_pct": 0,
        "competitor_price": 120.0, "region": "EU", "channel": "store", "quantity": 1,
        "fraud_score": 0.1,
    }  # fmt: skip


# ---- rulelang on the same workload -----------------------------------------------------


def _rulelang() -> Any:
    import rulelang

    return rulelang


def test_policy21_rule_agrees_with_the_reference(
    facts: list[dict[str, Any]], decisions: list[dict[str, Any]]
) -> None:
    import bench_core

    policy = _rulelang().open_policy(str(BENCH / "policy21.rule"), models={})
    sample = range(0, N, 20)  # 5,000 facts spread over the whole sample
    got = [policy.decide({"row": facts[i]}) for i in sample]
    bad = bench_core.mismatches(got, [decisions[i] for i in sample])
    assert not bad, f"{len(bad)} differ; first: {facts[sample[bad[0]]]}"


def test_generated_large_policy_checks_and_compiles(tmp_path: Path) -> None:
    import gen_large_policy

    path = tmp_path / "large.rule"
    path.write_text(gen_large_policy.generate(200, seed=3), encoding="utf-8")
    policy = _rulelang().open_policy(str(path), models={})
    assert policy is not None
    assert gen_large_policy.generate(50) == gen_large_policy.generate(50)
