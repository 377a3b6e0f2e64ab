"""Canonical JSON: the one text form of every value the log stores and hashes.

Input: records, facts and payloads (JSON values; ``Decimal`` allowed).
Output: text with sorted keys, no spaces, ASCII only, and every ``Decimal`` written
as a JSON number with exactly its digits (``Decimal("99.00")`` is ``99.00``).
``loads`` reads non-integer numbers back as ``Decimal``, so nothing is rounded on
the way through the log: money stays exact and a float's shortest repr survives.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# A private-use code point cannot appear unescaped in ASCII JSON, and a string equal
# to the marker is caught by the count check in ``_splice``, which then falls back.
_MARK = "\ue000rulelang-decimal\ue000"
_QUOTED_MARK = json.dumps(_MARK)
# For values known to hold only str, int, bool and None (row headers): no callback.
_PLAIN = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


class Encoded(str):
    """JSON text its writer already has (a canonical record, a raw input line): stored
    and hashed as it is, so a caller that wrote it once need not encode it again."""

    __slots__ = ()


def canonical_json(value: Any) -> str:
    """The canonical text of ``value``; raises ``ValueError`` on NaN or infinity.

    An ``Encoded`` value is returned as it is.
    """
    if isinstance(value, Encoded):
        return value
    decimals: list[str] = []
    text = json.dumps(
        value,
        default=_default_collecting(decimals),
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    if not decimals:
        return text
    spliced = _splice(text, decimals)
    return spliced if spliced is not None else exact_json(value)


def plain_json(value: dict[str, str | int | bool | None]) -> str:
    """``canonical_json`` for a flat object of plain values, without its overhead."""
    return _PLAIN.encode(value)


def loads(text: str) -> Any:
    """Parse log JSON; non-integer numbers come back as exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def decimal_text(value: Decimal) -> str:
    """The JSON number for a Decimal, keeping its digits and scale."""
    if not value.is_finite():
        raise ValueError(f"cannot store the non-finite number {value}")
    return str(value)


def exact_json(value: Any) -> str:
    """The slow, obviously correct encoder; ``canonical_json`` must agree with it."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ",".join(json.dumps(str(k)) + ":" + exact_json(v) for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(exact_json(v) for v in value) + "]"
    if isinstance(value, (str, int, float)) or value is None:
        return json.dumps(value, allow_nan=False)
    return exact_json(plain_value(value))


def plain_value(value: Any) -> Any:
    """A JSON-able stand-in for the few non-JSON types a record or fact may hold."""
    if isinstance(value, (set, frozenset)):
        return _sorted_list(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    for method in ("to_dict", "model_dump"):
        dump = getattr(value, method, None)
        if callable(dump):
            return dump()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _default_collecting(decimals: list[str]) -> Callable[[Any], Any]:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            decimals.append(decimal_text(value))
            return _MARK
        return plain_value(value)

    return default


def _splice(text: str, decimals: list[str]) -> str | None:
    parts = text.split(_QUOTED_MARK)
    if len(parts) != len(decimals) + 1:
        return None  # a string in the data equals the marker: use the slow path
    out = [parts[0]]
    for number, part in zip(decimals, parts[1:], strict=True):
        out.append(number)
        out.append(part)
    return "".join(out)


def _sorted_list(values: set[Any] | frozenset[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)
