"""Fact validation: the `facts` declarations become a pydantic validator.

Input: a mapping (or a pydantic model) with one value per facts block. Output:
plain dicts in run-time form (money and percent as Decimal, numbers as float),
or a ``FactError`` naming every bad field with what was expected and what came.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired, Optional

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from rulelang import ir
from rulelang.errors import FactError, FactIssue

_PY_TYPES: dict[str, Any] = {
    "number": float,
    "int": int,
    "money": Decimal,
    "percent": Decimal,
    "text": str,
    "bool": bool,
}
# `true` is not a number: lax pydantic would read it as 1 (and "5" as 5). CSV cells,
# which are all text, are typed by the reader (batch.py) before they get here.
_STRICT = ("bool", "int", "number")
# Unknown keys are ignored by default, as pydantic does: rows from upstream systems
# carry ids and timestamps. ``strict_fields`` makes them errors (a misspelt
# optional field is then caught); it also costs about 0.5 us a decision.
_IGNORE = ConfigDict(extra="ignore", allow_inf_nan=False)
_FORBID = ConfigDict(extra="forbid", allow_inf_nan=False)


class FactsValidator:
    """Validates whole decisions' facts against the policy's declarations."""

    def __init__(self, facts: tuple[ir.Facts, ...], *, strict_fields: bool = False) -> None:
        self.facts = {f.name: f for f in facts}
        config = _FORBID if strict_fields else _IGNORE
        blocks = {f.name: _block_type(f, config) for f in facts}
        root = TypedDict("Facts", blocks)  # type: ignore[misc]
        root.__pydantic_config__ = config  # type: ignore[attr-defined]
        self.adapter: TypeAdapter[Any] = TypeAdapter(root)

    def validate(self, data: Any) -> dict[str, Any]:
        """Validated facts, or FactError listing every problem."""
        if isinstance(data, BaseModel):
            data = data.model_dump()
        if not isinstance(data, Mapping):
            raise FactError(
                [
                    FactIssue(
                        "", "an object with " + self.blocks(), _got(data), "facts must be an object"
                    )
                ]
            )
        try:
            result: dict[str, Any] = self.adapter.validate_python(data)
            return result
        except ValidationError as exc:
            raise FactError([self.issue(e) for e in exc.errors()]) from None

    def blocks(self) -> str:
        return ", ".join(f"`{name}`" for name in self.facts)

    def issue(self, error: Any) -> FactIssue:
        loc = tuple(str(p) for p in error["loc"])
        path = ".".join(loc)
        expected = self.expected(loc)
        kind = error["type"]
        if kind == "missing":
            return FactIssue(path, expected, "nothing", f"missing (expected {expected})")
        if kind == "extra_forbidden":
            return FactIssue(path, "no such field", _got(error["input"]), self.unknown(loc))
        got = _got(error["input"])
        return FactIssue(path, expected, got, f"expected {expected}, got {got}")

    def expected(self, loc: tuple[str, ...]) -> str:
        block = self.facts.get(loc[0]) if loc else None
        if block is None:
            return "an object with " + self.blocks()
        if len(loc) == 1:
            return f"an object with the fields of `{block.name}`"
        info = block.field(loc[1])
        return describe(info) if info else "no such field"

    def unknown(self, loc: tuple[str, ...]) -> str:
        from rulelang.errors import did_you_mean

        if len(loc) == 1:
            return f"`{loc[0]}` is not a facts block; {did_you_mean(loc[0], self.facts)}"
        block = self.facts[loc[0]]
        hint = did_you_mean(loc[1], [f.name for f in block.fields])
        return f"`{loc[1]}` is not a field of `{loc[0]}`; {hint}"


def describe(info: ir.FieldInfo) -> str:
    """The declared domain in the language's words: `money in 0 .. 100000`."""
    if info.type.enum:
        return "one of " + ", ".join(f'"{v}"' for v in info.type.enum)
    text = {"bool": "true or false"}.get(info.type.kind, info.type.kind)
    if info.low is not None:
        op = ".." if info.high_inclusive else "..<"
        text += f" in {_num(info.low)} {op} {_num(info.high)}"
    return text + (" (optional)" if info.optional else "")


def _num(value: Any) -> str:
    if not isinstance(value, Decimal):
        return str(value)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _block_type(facts: ir.Facts, config: ConfigDict) -> Any:
    fields = {f.name: _field_type(f) for f in facts.fields}
    block = TypedDict(facts.name, fields)  # type: ignore[misc]
    block.__pydantic_config__ = config  # type: ignore[attr-defined]
    return block


def _field_type(info: ir.FieldInfo) -> Any:
    if info.type.enum:
        base: Any = Literal[info.type.enum]
    else:
        base = _PY_TYPES[info.type.kind]
        if info.type.kind in _STRICT:
            base = Annotated[base, Field(strict=True)]
        if info.low is not None:
            upper = {"le": info.high} if info.high_inclusive else {"lt": info.high}
            base = Annotated[base, Field(ge=info.low, **upper)]
    if info.optional:
        return NotRequired[Optional[base]]  # noqa: UP045 -- runtime typing object
    return base
