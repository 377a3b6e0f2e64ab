"""The language's types and the rules for mixing them.

``money``, ``percent`` and untyped decimal literals are exact (``Decimal`` at run
time); ``number`` is a float; ``int`` an int. ``join`` says what two numeric
operands combine to, or None when the mix needs an explicit conversion.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMERIC = frozenset({"number", "int", "money", "percent", "literal"})
EXACT = frozenset({"money", "percent", "literal"})
FIELD_TYPES = ("number", "int", "money", "percent", "text", "bool")
MODEL_RESULTS = ("score", "number", "bool", "text")


@dataclass(frozen=True, slots=True)
class Type:
    """kind: number int money percent literal text bool action facts.

    ``enum`` is set for `text in {...}` fields; ``facts`` names the block for a
    whole-facts value (a model argument).
    """

    kind: str
    enum: tuple[str, ...] | None = None
    facts: str | None = None

    def __str__(self) -> str:
        if self.kind == "literal":
            return "number literal"
        if self.kind == "facts":
            return f"facts `{self.facts}`"
        return self.kind

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def exact(self) -> bool:
        return self.kind in EXACT

    def plain(self) -> Type:
        """The same type without an enumeration."""
        return Type(self.kind) if self.enum else self


NUMBER = Type("number")
INT = Type("int")
MONEY = Type("money")
PERCENT = Type("percent")
LITERAL = Type("literal")
TEXT = Type("text")
BOOL = Type("bool")
ACTION = Type("action")


def named(name: str) -> Type | None:
    """The type a declaration names (``score`` is a number from 0 to 1)."""
    if name == "score":
        return NUMBER
    return Type(name) if name in FIELD_TYPES else None


def join(a: Type, b: Type) -> Type | None:
    """The common type of two numeric operands, or None (money with number)."""
    if a.kind == b.kind:
        return a.plain()
    kinds = {a.kind, b.kind}
    if kinds == {"money", "number"}:
        return None
    if kinds == {"int", "literal"}:
        return LITERAL
    for weak in ("int", "literal"):
        if weak in kinds:
            return (b if a.kind == weak else a).plain()
    if kinds == {"money", "percent"}:
        return MONEY
    return NUMBER  # percent with number


def arith(op: str, a: Type, b: Type) -> Type | str:
    """The result type of ``a op b``, or a message saying why it has no meaning."""
    common = join(a, b)
    if common is None:
        return "money cannot be mixed with a number: convert one side: money(x) or number(x)"
    if op == "*" and a.kind == b.kind == "money":
        return "money times money has no meaning: multiply money by a count or a percent"
    if op == "/" and a.kind == b.kind == "money":
        return NUMBER
    if op == "/" and common.kind == "int":
        return NUMBER
    return common


def assignable(to: Type, value: Type) -> bool:
    """Can a value of type ``value`` be stored in an output of type ``to``?"""
    if to.kind == value.kind:
        return True
    allowed = {
        "number": {"int", "literal", "percent"},
        "money": {"int", "literal"},
        "percent": {"int", "literal"},
    }
    return value.kind in allowed.get(to.kind, set())


def comparable(a: Type, b: Type) -> bool:
    if a.numeric and b.numeric:
        return join(a, b) is not None
    return a.kind == b.kind and a.kind != "facts"
