"""The AST: one frozen dataclass per language construct.

Produced by ``transformer``, expanded by ``templates``, read by ``checker`` and
``formatter``. Every node has a ``span``; equality ignores spans, so two parses of
differently formatted text compare equal when they mean the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rulelang.source import NOWHERE, Span


def _span() -> Span:
    """A span field: excluded from equality and repr."""
    return field(default=NOWHERE, compare=False, repr=False)


# ---- expressions --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    """kind: int | decimal | percent | text | bool | action."""

    value: int | Decimal | str | bool
    kind: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Name:
    """A name or a dotted path: ``price``, ``item.stock``."""

    parts: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" | "not"
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Binary:
    """op: + - * / == != < <= > >= and or implies ??"""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class InRange:
    value: Expr
    low: Expr
    high: Expr
    high_inclusive: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class InSet:
    value: Expr
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IsPresent:
    value: Expr
    negate: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IfExpr:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = _span()


Expr = Literal | Name | Call | Unary | Binary | InRange | InSet | IsPresent | IfExpr


# ---- actions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assign:
    target: Name
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Boost:
    target: Name
    by: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Block:
    reason: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Review:
    reason: str
    role: str | None
    span: Span = _span()


Action = Assign | Boost | Block | Review


# ---- declarations -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyHeader:
    name: str
    title: str | None = None
    version: str | None = None
    owner: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class FieldDecl:
    name: str
    type_name: str
    enum: tuple[str, ...] | None = None
    low: Literal | None = None
    high: Literal | None = None
    high_inclusive: bool = True
    optional: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class FactsBlock:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ModelDecl:
    name: str
    params: tuple[Name, ...]
    result: str
    min_confidence: Literal | None = None
    timeout_ms: Decimal | None = None
    fallback: Literal | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class OutputDecl:
    name: str
    type_name: str
    init: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DecisionBlock:
    outputs: tuple[OutputDecl, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    title: str | None
    priority: int
    when: Expr
    then: tuple[Action, ...]
    if_unknown: tuple[Action, ...] | None = None
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class Ensure:
    name: str
    title: str | None
    cond: Expr
    otherwise: tuple[Action, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True, slots=True)
class OverrideDecl:
    output: Name
    role: str
    low: Expr | None = None
    high: Expr | None = None
    high_inclusive: bool = True
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Given:
    path: Name
    value: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class WithModel:
    """``with NAME = VALUE``; value None means ``with NAME = unknown``."""

    model: str
    value: Expr | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Expect:
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ExpectFired:
    rules: tuple[Name, ...]
    negate: bool
    span: Span = _span()


TestClause = Given | WithModel | Expect | ExpectFired


@dataclass(frozen=True, slots=True)
class TestBlock:
    name: str
    clauses: tuple[TestClause, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    cond: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Import:
    path: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Use:
    template: str
    args: tuple[Expr, ...]
    alias: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TemplateParam:
    name: str
    type_name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    params: tuple[TemplateParam, ...]
    body: tuple[Rule | Ensure, ...]
    span: Span = _span()


Item = (
    PolicyHeader
    | FactsBlock
    | ModelDecl
    | DecisionBlock
    | Rule
    | Ensure
    | OverrideDecl
    | TestBlock
    | Invariant
    | Import
    | Use
    | Template
)


@dataclass(frozen=True, slots=True)
class Module:
    """One parsed file: its items in file order, and its comments (for ``fmt``)."""

    items: tuple[Item, ...]
    comments: tuple[tuple[int, str], ...] = field(default=(), compare=False)
    span: Span = _span()
