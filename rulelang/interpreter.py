"""The reference back-end: IR -> a decision, by walking the tree.

Slow and obvious on purpose. The compiled evaluator (``codegen``) must agree with
it on every policy and every fact; tests check that on generated ones. Operands
are evaluated left to right; an operand with no answer makes a strict operation
unknown at once, so later operands (and the models they call) are not evaluated.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rulelang import ir
from rulelang.decision import Firing
from rulelang.errors import EvaluationError
from rulelang.runtime import ACTION_NAMES, Frame, div, round_half_up, to_money

ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": div,
}
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
BUILTIN: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round_half_up,
    "money": to_money,
    "number": float,
}


class _Unknown(Exception):
    """Internal: a strict operand had no answer."""


@dataclass
class State:
    """The mutable state of one decision being interpreted."""

    facts: dict[str, Any]
    frame: Frame | None
    outputs: dict[str, Any] = field(default_factory=dict)
    action: int = 0
    reasons: list[str] = field(default_factory=list)
    review_by: str = ""
    fired: list[str] = field(default_factory=list)
    trace: list[Firing] = field(default_factory=list)


def run(policy: ir.Policy, facts: dict[str, Any], frame: Frame) -> State:
    """Decide ``facts`` (already validated) the slow, obvious way, with a full trace."""
    state = State(facts, frame)
    for out in policy.outputs:
        state.outputs[out.name] = evaluate(out.init, state)
    for rule in policy.rules:
        run_rule(rule, state)
    for ensure in policy.ensures:
        run_ensure(ensure, state)
    for ensure in policy.ensures:
        if evaluate(ensure.cond, state) is not True:
            raise_action(state, 2, f"constraint {ensure.name} could not be satisfied", "")
            state.trace.append(Firing(ensure.name, ensure.line, "unsatisfiable", kind="ensure"))
    return state


def run_rule(rule: ir.Rule, state: State) -> None:
    cond = evaluate_seen(rule.cond, state)
    values = {r.label: read(r, state) for r in rule.reads}
    if state.frame is not None:  # the model answers the condition read, as codegen records them
        values.update(state.frame.seen)
    if cond is True:
        state.fired.append(rule.name)
        changes = execute(rule.then, state)
        state.trace.append(Firing(rule.name, rule.line, "fired", values, changes))
    elif cond is None:
        changes = execute(rule.if_unknown, state)
        state.trace.append(Firing(rule.name, rule.line, "unknown", values, changes))
    else:
        state.trace.append(Firing(rule.name, rule.line, "skipped", values, {}))


def run_ensure(ensure: ir.Ensure, state: State) -> None:
    cond = evaluate_seen(ensure.cond, state)
    values = {r.label: read(r, state) for r in ensure.reads}
    if state.frame is not None:
        values.update(state.frame.seen)
    if cond is True:
        state.trace.append(Firing(ensure.name, ensure.line, "held", values, {}, "ensure"))
        return
    state.fired.append(ensure.name)
    changes = execute(ensure.otherwise, state)
    state.trace.append(Firing(ensure.name, ensure.line, "fired", values, changes, "ensure"))


def evaluate_seen(cond: ir.Expr, state: State) -> Any:
    """Evaluate a condition, noting only its own model answers for the trace."""
    if state.frame is not None:
        state.frame.seen = {}
    return evaluate(cond, state)


def read(expr: ir.Field | ir.Output, state: State) -> Any:
    value = evaluate(expr, state)
    return ACTION_NAMES[value] if isinstance(expr, ir.Output) and expr.name == "action" else value


def execute(statements: tuple[ir.Statement, ...], state: State) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for st in statements:
        if isinstance(st, ir.RaiseAction):
            before = state.action
            raise_action(state, st.level, st.reason, st.role)
            if state.action != before:
                note(changes, "action", ACTION_NAMES[before], ACTION_NAMES[state.action])
            continue
        old = state.outputs[st.output]
        if isinstance(st, ir.SetOutput):
            new = evaluate(st.value, state)
        else:
            new = old * evaluate(st.factor, state)
        state.outputs[st.output] = new
        note(changes, st.output, old, new)
    return changes


def note(changes: dict[str, list[Any]], name: str, old: Any, new: Any) -> None:
    if name in changes:
        changes[name][1] = new
    else:
        changes[name] = [old, new]


def raise_action(state: State, level: int, reason: str, role: str) -> None:
    state.action = max(state.action, level)
    state.reasons.append(reason)
    if role and not state.review_by:
        state.review_by = role


# ---- expressions -------------------------------------------------------------------


def evaluate(expr: ir.Expr, state: State) -> Any:
    """The value of ``expr``; None when unknown (no answer) or missing."""
    try:
        return _EVAL[type(expr)](expr, state)
    except _Unknown:
        return None


def strict(expr: ir.Expr, state: State) -> Any:
    value = evaluate(expr, state)
    if value is None:
        raise _Unknown
    return value


def _field(e: ir.Field, s: State) -> Any:
    return s.facts[e.facts].get(e.field)


def _output(e: ir.Output, s: State) -> Any:
    if e.name == "action":
        return s.action
    return s.review_by if e.name == "review_by" else s.outputs[e.name]


def _model(e: ir.ModelCall, s: State) -> Any:
    args = tuple(strict(a, s) for a in e.args)
    if s.frame is None:
        raise EvaluationError("a model cannot be called here")
    value = s.frame.call(e.index, args)
    s.frame.seen[e.span.text] = value  # what the explain trace shows, as codegen records it
    return value


def _logic(e: ir.Logic, s: State) -> Any:
    left = evaluate(e.left, s)
    stop = {"and": False, "or": True, "implies": False}[e.op]
    if left is stop:
        return e.op != "and"
    right = evaluate(e.right, s)
    decisive = e.op != "and"
    if right is decisive:
        return decisive
    if left is None or right is None:
        return None
    return not decisive


def _if(e: ir.If, s: State) -> Any:
    cond = evaluate(e.cond, s)
    if cond is None:
        return None
    return evaluate(e.then if cond else e.else_, s)


def _coalesce(e: ir.Coalesce, s: State) -> Any:
    value = evaluate(e.value, s)
    return value if value is not None else evaluate(e.default, s)


def _in_range(e: ir.InRange, s: State) -> Any:
    value, low, high = strict(e.value, s), strict(e.low, s), strict(e.high, s)
    return low <= value <= high if e.high_inclusive else low <= value < high


def _in_set(e: ir.InSet, s: State) -> Any:
    value = strict(e.value, s)
    return value in [strict(i, s) for i in e.items]


def _convert(e: ir.Convert, s: State) -> Any:
    return float(strict(e.expr, s))


_EVAL: dict[type, Callable[[Any, State], Any]] = {
    ir.Const: lambda e, s: e.value,
    ir.Field: _field,
    ir.Output: _output,
    ir.FactsRef: lambda e, s: s.facts[e.facts],
    ir.ModelCall: _model,
    ir.Convert: _convert,
    ir.Arith: lambda e, s: ARITH[e.op](strict(e.left, s), strict(e.right, s)),
    ir.Neg: lambda e, s: -strict(e.operand, s),
    ir.Compare: lambda e, s: COMPARE[e.op](strict(e.left, s), strict(e.right, s)),
    ir.Logic: _logic,
    ir.Not: lambda e, s: not strict(e.operand, s),
    ir.InRange: _in_range,
    ir.InSet: _in_set,
    ir.Present: lambda e, s: (evaluate(e.value, s) is None) == e.negate,
    ir.Coalesce: _coalesce,
    ir.If: _if,
    ir.Builtin: lambda e, s: BUILTIN[e.func](*(strict(a, s) for a in e.args)),
}


# ---- constant folding (used by the checker) ----------------------------------------------

_LEAVES = (ir.Const, ir.Field, ir.Output, ir.FactsRef, ir.ModelCall, ir.Present)


def evaluate_constant(expr: ir.Expr) -> ir.Expr:
    """Replace an expression whose direct operands are all constants by its value."""
    if isinstance(expr, _LEAVES) or expr.type.kind == "error":
        return expr
    operands = [getattr(expr, name) for name in expr.__slots__]
    children = [o for o in operands if hasattr(o, "unknown")]
    children += [i for o in operands if isinstance(o, tuple) for i in o]
    if not all(isinstance(c, ir.Const) and c.type.kind != "error" for c in children):
        return expr
    try:
        value = evaluate(expr, State({}, None))
    except (EvaluationError, ArithmeticError):
        return expr  # left for run time, where it becomes a decision error
    if isinstance(value, Decimal) and expr.type.kind == "number":
        value = float(value)
    return ir.Const(value, expr.type, expr.span)
