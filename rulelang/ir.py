"""The typed IR: what the checker produces and codegen / the interpreter read.

Every name is resolved (a facts field, an output, a model by index), every
expression carries its type and whether it can be unknown (it reads a model
that may have no answer), and every conversion between representations
(Decimal to float) is an explicit ``Convert`` node.

Equality (and hashing) leaves spans out, as the AST's does: two nodes that mean
the same are equal wherever they were written, so passes compare with ``==``.
``children`` and ``walk`` visit any tree, so a pass that only collects (the
fields read, the models called) is a comprehension over ``walk(node)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, get_args, get_type_hints

from rulelang.source import Span
from rulelang.types import Type


@dataclass(frozen=True, slots=True)
class Const:
    value: Any
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class Field:
    facts: str
    field: str
    type: Type
    optional: bool
    span: Span = dataclasses.field(compare=False)
    unknown: bool = False

    @property
    def label(self) -> str:
        return f"{self.facts}.{self.field}"


@dataclass(frozen=True, slots=True)
class Output:
    """An output, or one of the built-ins ``action`` (an int 0..2) and ``review_by``."""

    name: str
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool = False

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class FactsRef:
    """A whole facts block passed to a model."""

    facts: str
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class ModelCall:
    model: str
    index: int
    args: tuple[Expr, ...]
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Convert:
    """Change representation: an exact value (Decimal) to a number (float)."""

    expr: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and or implies
    left: Expr
    right: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class InRange:
    value: Expr
    low: Expr
    high: Expr
    high_inclusive: bool
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class InSet:
    value: Expr
    items: tuple[Expr, ...]
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Present:
    """``x is present`` (negate: ``is not present``); x is an optional field or a model."""

    value: Expr
    negate: bool
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class Coalesce:
    """``x ?? default``: default when x is missing or has no answer."""

    value: Expr
    default: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class If:
    cond: Expr
    then: Expr
    else_: Expr
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


@dataclass(frozen=True, slots=True)
class Builtin:
    func: str  # min max abs round money number
    args: tuple[Expr, ...]
    type: Type
    span: Span = dataclasses.field(compare=False)
    unknown: bool


Expr = (
    Const
    | Field
    | Output
    | FactsRef
    | ModelCall
    | Convert
    | Arith
    | Neg
    | Compare
    | Logic
    | Not
    | InRange
    | InSet
    | Present
    | Coalesce
    | If
    | Builtin
)


# ---- statements ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetOutput:
    output: str
    value: Expr
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class BoostOutput:
    """output = output * factor, where factor is already 1 + p in the output's type."""

    output: str
    factor: Expr
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class RaiseAction:
    """block (level 2) or review (level 1): only ever raises the action."""

    level: int
    reason: str
    role: str
    span: Span = dataclasses.field(compare=False)


Statement = SetOutput | BoostOutput | RaiseAction


# ---- declarations --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type: Type
    low: Any = None
    high: Any = None
    high_inclusive: bool = True
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    name: str
    fields: tuple[FieldInfo, ...]
    span: Span = dataclasses.field(compare=False)

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    index: int
    params: tuple[str, ...]  # facts names or type names
    result: str  # score number bool text
    type: Type
    min_confidence: float | None
    timeout_ms: float | None
    fallback: Any
    has_fallback: bool
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class OutputDecl:
    name: str
    type: Type
    init: Expr
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    title: str
    priority: int
    cond: Expr
    then: tuple[Statement, ...]
    if_unknown: tuple[Statement, ...]
    reads: tuple[Field | Output, ...]
    span: Span = dataclasses.field(compare=False)

    @property
    def line(self) -> int:
        return self.span.line


@dataclass(frozen=True, slots=True)
class Ensure:
    name: str
    title: str
    cond: Expr
    otherwise: tuple[Statement, ...]
    reads: tuple[Field | Output, ...]
    span: Span = dataclasses.field(compare=False)

    @property
    def line(self) -> int:
        return self.span.line


@dataclass(frozen=True, slots=True)
class OverrideRight:
    output: str
    role: str
    low: Expr | None
    high: Expr | None
    high_inclusive: bool
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class ExpectCond:
    cond: Expr
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class ExpectFired:
    rules: tuple[str, ...]
    negate: bool
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class TestCase:
    name: str
    given: tuple[tuple[str, str, Any], ...]  # (facts, field, value)
    models: tuple[tuple[str, Any, bool], ...]  # (model, value, is_unknown)
    expects: tuple[ExpectCond | ExpectFired, ...]
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    cond: Expr
    span: Span = dataclasses.field(compare=False)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    title: str
    version: str
    owner: str
    facts: tuple[Facts, ...]
    models: tuple[Model, ...]
    outputs: tuple[OutputDecl, ...]
    rules: tuple[Rule, ...]  # in evaluation order: priority, then file order
    ensures: tuple[Ensure, ...]
    overrides: tuple[OverrideRight, ...]
    tests: tuple[TestCase, ...]
    invariants: tuple[Invariant, ...]
    source_hash: str
    source_name: str


# ---- walking the tree ------------------------------------------------------------------

Node = (
    Expr
    | Statement
    | FieldInfo
    | Facts
    | Model
    | OutputDecl
    | Rule
    | Ensure
    | OverrideRight
    | ExpectCond
    | ExpectFired
    | TestCase
    | Invariant
    | Policy
)
NODE_CLASSES: tuple[type, ...] = get_args(Node)


def _holds_nodes(hint: Any) -> bool:
    """Whether a field's type names an IR node (``Expr``, ``tuple[Rule, ...]``...)."""
    if hint in NODE_CLASSES:
        return True
    return any(_holds_nodes(arg) for arg in get_args(hint) if arg is not Ellipsis)


def _child_fields(cls: type) -> tuple[str, ...]:
    hints = get_type_hints(cls)
    return tuple(f.name for f in fields(cls) if _holds_nodes(hints[f.name]))


# Which fields of each class hold nodes, read once from the type hints: walking then
# reads only those, so it costs no more than the hand-written walkers it replaced.
_CHILD_FIELDS: Mapping[type, tuple[str, ...]] = MappingProxyType(
    {cls: _child_fields(cls) for cls in NODE_CLASSES}
)


def children(node: Node) -> Iterator[Node]:
    """The nodes directly below ``node``, in field order (tuples in their order)."""
    for name in _CHILD_FIELDS[type(node)]:
        value = getattr(node, name)
        if type(value) is tuple:
            yield from value
        elif value is not None:
            yield value


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree under ``node``, ``node`` first, in pre-order."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        below = tuple(children(current))
        stack.extend(reversed(below))
