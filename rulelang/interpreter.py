"""The reference back-end: IR -> a decision, by walking the tree.

Slow and obvious on purpose. The compiled evaluator (``codegen``) must agree with
it on every policy and every fact; tests check that on generated ones. Operands
are evaluated left to right; an operand with no answer makes a strict operation
unknown at once, so later operands (and the models they call) are not evaluated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rulelang import ir
from rulelang.decision import ACTIONS, Firing
from rulelang.errors import EvaluationError
from rulelang.operators import BINARY, FUNCTIONS, UNARY
from rulelang.runtime import Frame


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
    """Decide ``facts`` (already validated) the slow, obvious way, with a full trace.

    A value error raises an ``EvaluationError`` that says where it happened.
    """
    state = State(facts, frame)
    for out in policy.outputs:
        with located(output=out.name, line=out.span.line):
            state.outputs[out.name] = evaluate(out.init, state)
    for rule in policy.rules:
        with located(rule=rule.name):
            run_rule(rule, state)
    for ensure in policy.ensures:
        with located(rule=ensure.name):
            run_ensure(ensure, state)
    for ensure in policy.ensures:
        with located(rule=ensure.name):
            recheck(ensure, state)
    return state


@contextmanager
def located(rule: str = "", output: str = "", line: int = 0) -> Iterator[None]:
    """Say where a value error happened: in a rule or constraint, or an output's start."""
    try:
        yield
    except (EvaluationError, ArithmeticError) as exc:
        raise EvaluationError.at(exc, rule, output, line) from exc


def recheck(ensure: ir.Ensure, state: State) -> None:
    if evaluate(ensure.cond, state) is not True:
        raise_action(state, 2, f"constraint {ensure.name} could not be satisfied", "")
        state.trace.append(Firing(ensure.name, ensure.line, "unsatisfiable", kind="ensure"))


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
    return ACTIONS[value] if isinstance(expr, ir.Output) and expr.name == "action" else value


Changes = dict[str, list[Any]]


def execute(statements: tuple[ir.Statement, ...], state: State) -> Changes:
    changes: Changes = {}
    for st in statements:
        _EXECUTE[type(st)](st, state, changes)
    return changes


def _set_output(st: ir.SetOutput, state: State, changes: Changes) -> None:
    old = state.outputs[st.output]
    state.outputs[st.output] = new = evaluate(st.value, state)
    note(changes, st.output, old, new)


def _boost_output(st: ir.BoostOutput, state: State, changes: Changes) -> None:
    old = state.outputs[st.output]
    state.outputs[st.output] = new = old * evaluate(st.factor, state)
    note(changes, st.output, old, new)


def _raise_action(st: ir.RaiseAction, state: State, changes: Changes) -> None:
    before = state.action
    raise_action(state, st.level, st.reason, st.role)
    if state.action != before:
        note(changes, "action", ACTIONS[before], ACTIONS[state.action])


_EXECUTE: dict[type, Callable[[Any, State, Changes], None]] = {
    ir.SetOutput: _set_output,
    ir.BoostOutput: _boost_output,
    ir.RaiseAction: _raise_action,
}


def note(changes: Changes, name: str, old: Any, new: Any) -> None:
    if name in changes:
        changes[name][1] = new
    else:
        changes[name] = [old, new]


def raise_action(state: State, level: int, reason: str, role: str) -> None:
    state.action = max(state.action, level)
    if reason not in state.reasons:  # a reason two rules give is listed once
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
    logic = BINARY[e.op].logic
    assert logic is not None
    left = evaluate(e.left, s)
    if left is logic.stop:
        return logic.stop_result
    right = evaluate(e.right, s)
    if right is logic.decisive:
        return logic.decisive
    if left is None or right is None:
        return None
    return not logic.decisive


def _binary(e: ir.Arith | ir.Compare, s: State) -> Any:
    return BINARY[e.op].apply(strict(e.left, s), strict(e.right, s))


def _neg(e: ir.Neg, s: State) -> Any:
    return UNARY["-"].apply(strict(e.operand, s))


def _not(e: ir.Not, s: State) -> Any:
    return UNARY["not"].apply(strict(e.operand, s))


def _builtin(e: ir.Builtin, s: State) -> Any:
    return FUNCTIONS[e.func].evaluate(*(strict(a, s) for a in e.args))


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
    ir.Arith: _binary,
    ir.Neg: _neg,
    ir.Compare: _binary,
    ir.Logic: _logic,
    ir.Not: _not,
    ir.InRange: _in_range,
    ir.InSet: _in_set,
    ir.Present: lambda e, s: (evaluate(e.value, s) is None) == e.negate,
    ir.Coalesce: _coalesce,
    ir.If: _if,
    ir.Builtin: _builtin,
}


# ---- constant folding (used by the checker) ----------------------------------------------

_LEAVES = (ir.Const, ir.Field, ir.Output, ir.FactsRef, ir.ModelCall, ir.Present)


def evaluate_constant(expr: ir.Expr) -> ir.Expr:
    """Replace an expression whose direct operands are all constants by its value."""
    if isinstance(expr, _LEAVES) or expr.type.kind == "error":
        return expr
    for operand in ir.children(expr):
        if not isinstance(operand, ir.Const) or operand.type.kind == "error":
            return expr
    try:
        value = evaluate(expr, State({}, None))
    except (EvaluationError, ArithmeticError):
        return expr  # left for run time, where it becomes a decision error
    if isinstance(value, Decimal) and expr.type.kind == "number":
        value = float(value)
    return ir.Const(value, expr.type, expr.span)
