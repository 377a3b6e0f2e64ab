"""The language's operators and built-in functions, each defined once.

One row per operator says everything the stages need of it: its kind (what the
checker asks of the operands), how tightly it binds (the formatter's
parentheses), the Python the codegen back-end emits, and the function the
reference interpreter calls, which constant folding calls too (it folds through
the interpreter). Adding an operator is adding a row here and an alternative in
the grammar; tests/test_structure.py holds the grammar and this table together.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from rulelang.runtime import div, round_half_up, to_money


@dataclass(frozen=True, slots=True)
class Logic:
    """Three-valued, short-circuit logic, as both back-ends evaluate it.

    A left value of ``stop`` decides at once, giving ``stop_result``; otherwise a right
    value of ``decisive`` decides, giving itself; otherwise two known values give
    ``not decisive``, and an unknown one gives unknown.
    """

    stop: bool
    stop_result: bool
    decisive: bool


@dataclass(frozen=True, slots=True)
class Operator:
    """One operator as written (``symbol``).

    ``kind``: ``arith`` (numbers in, a number out), ``compare`` (two comparable values
    in, a bool out), ``logic`` (three-valued, short-circuit: see ``logic``),
    ``coalesce`` (``??``), and the unary ``not`` (a bool) and ``negate`` (a number).
    ``python`` is the Python operator codegen emits; where it is empty, codegen calls
    ``helper`` (a runtime function bound into the generated module) instead, as for
    ``/``, which must raise on zero.
    """

    symbol: str
    kind: str
    precedence: int  # higher binds tighter (the formatter's levels)
    python: str = ""
    helper: str = ""
    evaluate: Callable[..., Any] | None = None
    logic: Logic | None = None
    ordered: bool = False  # a comparison that orders: numbers and actions only
    can_fail: bool = False  # may raise at run time (``/`` by zero): a decision error
    flipped: str = ""  # a comparison with its operands swapped: a < b is b > a
    negated: str = ""  # the comparison that holds where this one does not

    def apply(self, *operands: Any) -> Any:
        """The value on known operands, as the interpreter (and so folding) computes it."""
        if self.evaluate is None:
            raise TypeError(f"`{self.symbol}` short-circuits: it is evaluated operand by operand")
        return self.evaluate(*operands)


@dataclass(frozen=True, slots=True)
class Function:
    """A built-in function: how many arguments it takes, the name codegen emits (a
    Python built-in or a runtime helper bound into the generated module), and the
    function the interpreter calls."""

    name: str
    arity: tuple[int, ...]
    python: str
    evaluate: Callable[..., Any]


def _logic(symbol: str, precedence: int, python: str, logic: Logic) -> Operator:
    return Operator(symbol, "logic", precedence, python, logic=logic)


def _compare(symbol: str, fn: Callable[[Any, Any], Any], flipped: str, negated: str) -> Operator:
    ordered = symbol not in ("==", "!=")
    return Operator(
        symbol, "compare", 5, symbol, evaluate=fn, ordered=ordered, flipped=flipped, negated=negated
    )


def _table(*rows: Operator) -> Mapping[str, Operator]:
    return MappingProxyType({row.symbol: row for row in rows})


BINARY: Mapping[str, Operator] = _table(
    # `implies` has no Python operator: codegen writes a implies b as (not a) or b.
    _logic("implies", 1, "", Logic(stop=False, stop_result=True, decisive=True)),
    _logic("or", 2, "or", Logic(stop=True, stop_result=True, decisive=True)),
    _logic("and", 3, "and", Logic(stop=False, stop_result=False, decisive=False)),
    _compare("==", operator.eq, flipped="==", negated="!="),
    _compare("!=", operator.ne, flipped="!=", negated="=="),
    _compare("<", operator.lt, flipped=">", negated=">="),
    _compare("<=", operator.le, flipped=">=", negated=">"),
    _compare(">", operator.gt, flipped="<", negated="<="),
    _compare(">=", operator.ge, flipped="<=", negated="<"),
    Operator("??", "coalesce", 6),
    Operator("+", "arith", 7, "+", evaluate=operator.add),
    Operator("-", "arith", 7, "-", evaluate=operator.sub),
    Operator("*", "arith", 8, "*", evaluate=operator.mul),
    Operator("/", "arith", 8, helper="div", evaluate=div, can_fail=True),
)

UNARY: Mapping[str, Operator] = _table(
    Operator("not", "not", 4, "not", evaluate=operator.not_),
    Operator("-", "negate", 9, "-", evaluate=operator.neg),
)

FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    {
        f.name: f
        for f in (
            Function("abs", (1,), "abs", abs),
            Function("max", (2,), "max", max),
            Function("min", (2,), "min", min),
            Function("money", (1,), "to_money", to_money),
            Function("number", (1,), "float", float),
            Function("round", (1, 2), "round_half_up", round_half_up),
        )
    }
)
