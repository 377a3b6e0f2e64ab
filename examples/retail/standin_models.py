"""Plain-Python stand-ins for the retail example's models: no ML extra needed.

Deterministic and fast, for trying the policy, for tests and for benchmarks of the
engine itself. Bind them with ``--models examples/retail/models.standin.yaml``.
"""

from __future__ import annotations

import zlib
from typing import Any

version = "standin-1"


def fraud_risk(
    customer: dict[str, Any], order: dict[str, Any], item: dict[str, Any]
) -> tuple[float, float]:
    """A score from the SKU's hash, nudged by discount and channel, 95% confident."""
    base = zlib.crc32(str(item["sku"]).encode()) % 1000 / 1000
    score = 0.7 * base + 0.2 * float(order["discount"]) + (0.1 if order["channel"] == "web" else 0)
    return min(score, 1.0), 0.95


def similarity(text: str, phrase: str) -> float:
    """Share of the phrase's words that appear in the text."""
    words = set(phrase.lower().split())
    return len(words & set(text.lower().split())) / len(words) if words else 0.0
