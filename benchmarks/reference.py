"""The hand-written reference for shared/bench/POLICY.md: the limits rulelang is measured against.

* ``decide(fact)`` -- plain Python, one fact (a flat dict) in, one decision out:
  ``{"final_price", "rank_boost", "action", "fired"}``. Written as fast as idiomatic
  Python allows: it is the per-row speed limit.
* ``decide_columns(columns)`` -- the same policy with numpy over columns (the batch
  limit). ``to_columns(facts)`` builds its input, ``column_rows(result)`` turns its
  output back into per-fact decisions.
* ``same(a, b)`` -- POLICY.md's verification rule.

Formulas keep POLICY.md's operation order (``p * 98 / 100``), so both versions give
bit-identical floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

RULE_IDS = tuple(f"R{i:02d}" for i in range(1, 22))
BLOCKING = ("R01", "R02", "R04", "R16")
REVIEWING = ("R03", "R05", "R17")
CAPS = {"grocery": 50.0, "books": 100.0, "toys": 250.0, "beauty": 180.0, "home": 1500.0}
_PRICE_MATCH = frozenset(("electronics", "toys", "books"))
_IMPORT_DUTY = frozenset(("electronics", "jewelry"))
_BULK_CHANNELS = frozenset(("marketplace", "web"))


def decide(fact: dict[str, Any]) -> dict[str, Any]:
    """Evaluate R01..R21 on one fact, exactly as POLICY.md says; ``fired`` is ascending.

    One straight-line block per rule, in id order, with locals for the fields read more
    than once: long on purpose, because this is the per-row speed limit.
    """
    fired: list[str] = []
    add = fired.append
    block = review = False
    stock = fact["stock"]
    fraud = fact["fraud_score"]
    channel = fact["channel"]
    category = fact["category"]
    tier = fact["customer_tier"]
    # Phase 1: gates
    if stock <= 0:
        add("R01")
        block = True
    if fraud >= 0.85:
        add("R02")
        block = True
    if 0.60 <= fraud < 0.85:
        add("R03")
        review = True
    if channel == "marketplace" and category == "jewelry":
        add("R04")
        block = True
    if fact["quantity"] > 10 and channel in _BULK_CHANNELS and tier == "standard":
        add("R05")
        review = True
    # Phase 2: effective discount
    d = fact["discount_pct"]
    if fact["is_clearance"]:
        add("R06")
        d = d + 10
    if tier == "gold":
        add("R07")
        d = d + 5
    elif tier == "vic":
        add("R07")
        d = d + 10
    if tier == "standard" and fact["days_since_last_order"] > 365:
        add("R08")
        d = d + 5
    new = fact["is_new_collection"]
    if new and d > 10:
        add("R09")
        d = 10
    if d > 80:
        add("R10")
        d = 80
    # Phase 3: price
    base = fact["base_price"]
    cost = fact["cost"]
    p = base * (100 - d) / 100
    if channel == "app":
        add("R11")
        p = p * 98 / 100
    if category in _PRICE_MATCH and fact["competitor_price"] < p:
        add("R12")
        p = fact["competitor_price"]
    if fact["region"] == "LATAM" and category in _IMPORT_DUTY:
        add("R13")
        p = p * 108 / 100
    if p < cost * 110 / 100:
        add("R14")
        p = cost * 110 / 100
    cap = CAPS.get(category)
    if cap is not None and p > cap:
        add("R15")
        p = cap
    if p < cost:
        add("R16")
        block = True
    if fact["account_age_days"] < 30 and p >= 500:
        add("R17")
        review = True
    # Phase 4: rank boost
    r = 1.0
    if tier == "vic" and new:
        add("R18")
        r = r * 115 / 100
    if stock > 0 and stock < 5:
        add("R19")
        r = r * 80 / 100
    if fact["customer_lifetime_value"] >= 10000:
        add("R20")
        r = r * 105 / 100
    if p * 2 <= base:
        add("R21")
        r = r * 90 / 100
    action = "block" if block else "review" if review else "allow"
    return {"final_price": p, "rank_boost": r, "action": action, "fired": fired}


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """POLICY.md's verification rule: same action and fired ids, prices within 1e-6,
    rank boosts within 1e-9 (absolute)."""
    return (
        a["action"] == b["action"]
        and list(a["fired"]) == list(b["fired"])
        and abs(a["final_price"] - b["final_price"]) <= 1e-6
        and abs(a["rank_boost"] - b["rank_boost"]) <= 1e-9
    )


# ---- the numpy version ---------------------------------------------------------------


def to_columns(facts: Iterable[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Flat facts -> one numpy array per field (float64, int64, bool or str)."""
    rows = list(facts)
    if not rows:
        raise ValueError("to_columns needs at least one fact")
    columns: dict[str, np.ndarray] = {}
    for name, first in rows[0].items():
        values = [row[name] for row in rows]
        columns[name] = np.array(values, dtype=_dtype(first))
    return columns


def _dtype(value: object) -> Any:
    if isinstance(value, bool):
        return np.bool_
    if isinstance(value, int):
        return np.int64
    if isinstance(value, float):
        return np.float64
    return np.str_


def decide_columns(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Evaluate the policy over columns.

    Returns ``final_price`` and ``rank_boost`` (float64), ``action`` (str) and
    ``fired``, a bool matrix of shape (n, 21) whose column j is rule ``RULE_IDS[j]``.
    """
    c = columns
    fired: list[np.ndarray] = _gates(c)
    d = _discount(c, fired)
    p = _price(c, d, fired)
    r = _rank(c, p, fired)
    matrix = np.column_stack(fired)
    by_id = dict(zip(RULE_IDS, fired, strict=True))
    block = np.logical_or.reduce([by_id[i] for i in BLOCKING])
    review = np.logical_or.reduce([by_id[i] for i in REVIEWING])
    action = np.where(block, "block", np.where(review, "review", "allow"))
    return {"final_price": p, "rank_boost": r, "action": action, "fired": matrix}


def _gates(c: dict[str, np.ndarray]) -> list[np.ndarray]:
    """R01..R05: conditions only."""
    fraud, channel = c["fraud_score"], c["channel"]
    return [
        c["stock"] <= 0,
        fraud >= 0.85,
        (fraud >= 0.60) & (fraud < 0.85),
        (channel == "marketplace") & (c["category"] == "jewelry"),
        (c["quantity"] > 10)
        & np.isin(channel, list(_BULK_CHANNELS))
        & (c["customer_tier"] == "standard"),
    ]


def _discount(c: dict[str, np.ndarray], fired: list[np.ndarray]) -> np.ndarray:
    """R06..R10: the effective discount d (int64), appending each rule's mask to fired."""
    tier = c["customer_tier"]
    d = c["discount_pct"].astype(np.int64)
    r06 = c["is_clearance"].astype(bool)
    d = np.where(r06, d + 10, d)
    gold, vic = tier == "gold", tier == "vic"
    d = np.where(gold, d + 5, np.where(vic, d + 10, d))
    r08 = (tier == "standard") & (c["days_since_last_order"] > 365)
    d = np.where(r08, d + 5, d)
    r09 = c["is_new_collection"].astype(bool) & (d > 10)
    d = np.where(r09, 10, d)
    r10 = d > 80
    d = np.where(r10, 80, d)
    fired += [r06, gold | vic, r08, r09, r10]
    return d


def _price(c: dict[str, np.ndarray], d: np.ndarray, fired: list[np.ndarray]) -> np.ndarray:
    """R11..R17: the price p, appending each rule's mask to fired."""
    category, cost, competitor = c["category"], c["cost"], c["competitor_price"]
    p = c["base_price"] * (100 - d) / 100
    r11 = c["channel"] == "app"
    p = np.where(r11, p * 98 / 100, p)
    r12 = np.isin(category, list(_PRICE_MATCH)) & (competitor < p)
    p = np.where(r12, competitor, p)
    r13 = (c["region"] == "LATAM") & np.isin(category, list(_IMPORT_DUTY))
    p = np.where(r13, p * 108 / 100, p)
    floor = cost * 110 / 100
    r14 = p < floor
    p = np.where(r14, floor, p)
    cap = np.full(p.shape, np.inf)
    for name, value in CAPS.items():
        cap[category == name] = value
    r15 = p > cap
    p = np.where(r15, cap, p)
    r16 = p < cost
    r17 = (c["account_age_days"] < 30) & (p >= 500)
    fired += [r11, r12, r13, r14, r15, r16, r17]
    return p


def _rank(c: dict[str, np.ndarray], p: np.ndarray, fired: list[np.ndarray]) -> np.ndarray:
    """R18..R21: the rank boost r, appending each rule's mask to fired."""
    stock = c["stock"]
    r = np.ones(p.shape)
    r18 = (c["customer_tier"] == "vic") & c["is_new_collection"].astype(bool)
    r = np.where(r18, r * 115 / 100, r)
    r19 = (stock > 0) & (stock < 5)
    r = np.where(r19, r * 80 / 100, r)
    r20 = c["customer_lifetime_value"] >= 10000
    r = np.where(r20, r * 105 / 100, r)
    r21 = p * 2 <= c["base_price"]
    r = np.where(r21, r * 90 / 100, r)
    fired += [r18, r19, r20, r21]
    return r


def column_rows(result: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    """``decide_columns`` output -> one decision dict per fact, shaped like ``decide``'s."""
    ids = np.array(RULE_IDS)
    for i in range(len(result["action"])):
        yield {
            "final_price": float(result["final_price"][i]),
            "rank_boost": float(result["rank_boost"][i]),
            "action": str(result["action"][i]),
            "fired": ids[result["fired"][i]].tolist(),
        }
