"""Values as a policy writes them: ``15%``, ``628.90``, ``"text"``, ``true``, ``block``.

One function, ``show_value(value, type)``, serves every place a person reads a value:
``explain``, the review desk, ``rulelang test`` failures and ``rulelang diff``. The
type says how a number reads: a percent as a percentage, money with its cents.

A decision record is JSON: it keeps numbers, not their units. ``ValueTypes`` gives the
type of every label a decision shows (outputs, fields, model calls) from the policy
that made it; without it (a record explained with no policy at hand) a value shows
as the record holds it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from rulelang import ir
from rulelang.types import ACTION, TEXT, Type

_CENTS = Decimal("0.01")
_HUNDRED = Decimal(100)


def show_value(value: Any, type: Type | None = None, *, missing: str = "none") -> str:
    """``value`` as a `.rule` file would write it; ``missing`` stands for None."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        bare = type is not None and type.kind == "action"  # `action == block`
        return value if bare else json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float, Decimal)):
        return _number(value, type.kind if type is not None else "")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return str(value)


def _number(value: float | Decimal, kind: str) -> str:
    if kind in ("percent", "money"):
        exact = _exact(value)
        if exact is not None:
            return _percent(exact) if kind == "percent" else _money(exact)
    if isinstance(value, int):
        return str(value)
    text = format(value, "f") if isinstance(value, Decimal) else repr(value)
    # Float arithmetic leaves tails (1.1500000000000001): show what the policy meant.
    return format(float(value), ".10g") if sum(ch.isdigit() for ch in text) > 12 else text


def _exact(value: float | Decimal) -> Decimal | None:
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return exact if exact.is_finite() else None


def _percent(value: Decimal) -> str:
    return format((value * _HUNDRED).normalize(), "f") + "%"


def _money(value: Decimal) -> str:
    """Two decimals, as prices are written; more only when there are more cents to show."""
    try:
        cents = value.quantize(_CENTS)
    except InvalidOperation:  # too many digits to quantize: show them all
        return format(value, "f")
    return format(cents if cents == value else value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class ValueTypes:
    """The type of each value a decision of one policy shows, by what shows it.

    ``outputs`` by output name (with ``action`` and ``review_by``), ``fields`` by
    label (``item.cost``), ``models`` by model name (the type of its answer).
    """

    outputs: Mapping[str, Type] = field(default_factory=dict)
    fields: Mapping[str, Type] = field(default_factory=dict)
    models: Mapping[str, Type] = field(default_factory=dict)

    @classmethod
    def of(cls, policy: ir.Policy) -> ValueTypes:
        outputs = {"action": ACTION, "review_by": TEXT, **{o.name: o.type for o in policy.outputs}}
        fields = {f"{b.name}.{f.name}": f.type for b in policy.facts for f in b.fields}
        return cls(outputs, fields, {m.name: m.type for m in policy.models})

    def output(self, name: str) -> Type | None:
        return self.outputs.get(name)

    def fact(self, label: str) -> Type | None:
        return self.fields.get(label)

    def model(self, name: str) -> Type | None:
        return self.models.get(name)

    def read(self, label: str) -> Type | None:
        """The type of a value a rule read: a field, an output, or a model call's text
        (``fraud_risk(customer, order, item)``)."""
        if label in self.fields:
            return self.fields[label]
        if label in self.outputs:
            return self.outputs[label]
        name, paren, _ = label.partition("(")
        return self.models.get(name.strip()) if paren else None


NO_TYPES = ValueTypes()


# ---- reading a value a person typed ------------------------------------------------------

# How each type is written, for a message when a value does not read as one.
FORMS = {
    "percent": "a percentage, 15% or 0.15",
    "money": "an amount such as 628.90",
    "int": "a whole number such as 12",
    "number": "a number such as 0.5",
    "bool": "true or false",
    "text": "text",
    "action": "allow, review or block",
}
_ACTIONS = ("allow", "review", "block")


def read_value(value: Any, kind: str) -> Any:
    """``value`` (text as a person typed it, or a value already of the type) in the
    run-time form of ``kind``: money and percent as ``Decimal``, ``15%`` as 0.15.

    Raises ``ValueError`` naming the expected form when it does not read as one.
    """
    found = _read(value.strip() if isinstance(value, str) else value, kind)
    if found is None:
        raise ValueError(f"expected {FORMS.get(kind, kind)}, not {show_value(value)}")
    return found


def _read(value: Any, kind: str) -> Any:
    """The value read as ``kind``, or None when it does not read as one."""
    if kind == "text":
        return _text(value)
    if kind == "action":
        return value if value in _ACTIONS else None
    if kind == "bool":
        return (
            {"true": True, "false": False}.get(value)
            if isinstance(value, str)
            else (value if isinstance(value, bool) else None)
        )
    if isinstance(value, bool):  # `true` is not a number
        return None
    exact = _decimal(value, percent=kind == "percent")
    if exact is None:
        return None
    if kind == "int":
        return int(exact) if exact == exact.to_integral_value() else None
    return float(exact) if kind == "number" else exact


def _decimal(value: Any, percent: bool) -> Decimal | None:
    if isinstance(value, (int, float, Decimal)):
        exact = value if isinstance(value, Decimal) else Decimal(repr(value))
        return exact if exact.is_finite() else None
    if not isinstance(value, str):
        return None
    scale = Decimal(1)
    if percent and value.endswith("%"):
        value, scale = value[:-1].strip(), _HUNDRED
    try:
        exact = Decimal(value)
    except InvalidOperation:
        return None
    return exact / scale if exact.is_finite() else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, str) else value
    return value
