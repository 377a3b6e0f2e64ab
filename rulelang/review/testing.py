"""Running a policy's `test` blocks: compiled policy -> test results.

A test's facts start from defaults (a field's lowest value, its first enumerated
value, false, "", 0; optional fields missing), take the `given` values, and the
`with` answers replace models. Each `expect` is checked on the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rulelang import ir
from rulelang.decision import Decision
from rulelang.errors import FactError
from rulelang.interpreter import State, evaluate
from rulelang.program import CompiledPolicy
from rulelang.runtime import ACTION_NAMES

_ZERO = {
    "number": 0.0,
    "int": 0,
    "money": Decimal(0),
    "percent": Decimal(0),
    "text": "",
    "bool": False,
}


@dataclass(frozen=True, slots=True)
class TestResult:
    name: str
    line: int
    failures: tuple[str, ...]
    decision: Decision | None

    @property
    def passed(self) -> bool:
        return not self.failures


def default_facts(policy: ir.Policy) -> dict[str, dict[str, Any]]:
    """Every required field at its default value; optional fields missing."""
    facts: dict[str, dict[str, Any]] = {}
    for block in policy.facts:
        facts[block.name] = {f.name: default_value(f) for f in block.fields if not f.optional}
    return facts


def default_value(info: ir.FieldInfo) -> Any:
    if info.type.enum:
        return info.type.enum[0]
    if info.low is not None:
        return info.low
    return _ZERO[info.type.kind]


def run_tests(compiled: CompiledPolicy) -> list[TestResult]:
    return [run_test(compiled, test) for test in compiled.policy.tests]


def run_test(compiled: CompiledPolicy, test: ir.TestCase) -> TestResult:
    facts = default_facts(compiled.policy)
    for block, field, value in test.given:
        facts[block][field] = value
    replaced = {name: (None if unknown else value) for name, value, unknown in test.models}
    try:
        decision = compiled.decide(facts, explain=True, replace_models=replaced)
    except FactError as exc:
        return TestResult(test.name, test.span.line, (str(exc),), None)
    if decision.error is not None:  # whatever it expects, a decision that failed fails
        where = f" in {decision.error['rule']}" if decision.error.get("rule") else ""
        failed = f"the decision failed{where}: {decision.error['message']}"
        return TestResult(test.name, test.span.line, (failed,), decision)
    failures = [f for e in test.expects if (f := check_expect(e, decision, facts, compiled))]
    return TestResult(test.name, test.span.line, tuple(failures), decision)


def decision_state(compiled: CompiledPolicy, decision: Decision, facts: dict[str, Any]) -> State:
    """The state an `expect` or `invariant` is evaluated in: facts and the outcome."""
    checked = compiled.validator.validate(facts)
    state = State(checked, None)
    state.outputs = dict(decision.outputs)
    state.action = ACTION_NAMES.index(decision.action)
    state.review_by = decision.review_by
    return state


def check_expect(
    expect: ir.ExpectCond | ir.ExpectFired,
    decision: Decision,
    facts: dict[str, Any],
    compiled: CompiledPolicy,
) -> str:
    """An empty string when the expectation holds, else what was expected and got."""
    if isinstance(expect, ir.ExpectFired):
        wrong = [r for r in expect.rules if (r in decision.fired) == expect.negate]
        if not wrong:
            return ""
        verb = "not to fire" if expect.negate else "to fire"
        fired = ", ".join(decision.fired) or "nothing"
        return f"line {expect.span.line}: expected {', '.join(wrong)} {verb}; fired: {fired}"
    state = decision_state(compiled, decision, facts)
    if evaluate(expect.cond, state) is True:
        return ""
    got = ", ".join(f"{label} = {show(value)}" for label, value in read_values(expect.cond, state))
    return f"line {expect.span.line}: expected {expect.cond.span.text}\n    got {got}"


def read_values(expr: Any, state: State) -> list[tuple[str, Any]]:
    """The fields and outputs an expression reads, with their values."""
    found: dict[str, Any] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (ir.Field, ir.Output)):
            value = evaluate(node, state)
            if isinstance(node, ir.Output) and node.name == "action":
                value = ACTION_NAMES[value]
            found[node.label] = value
            continue
        for name in getattr(node, "__slots__", ()):
            child = getattr(node, name)
            stack.extend(child if isinstance(child, tuple) else [child])
    return sorted(found.items())


def show(value: Any) -> str:
    """A value as the language writes it (a model with no answer is `unknown`)."""
    if value is None:
        return "unknown"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    return repr(value)


def render_failure(result: TestResult) -> str:
    lines = [f"  FAIL  {result.name} (line {result.line})"]
    lines += [f"    {f}" for f in result.failures]
    if result.decision is not None:
        lines.append("    trace:")
        lines += [f"      {line}" for line in trace_lines(result.decision)]
    return "\n".join(lines)


def trace_lines(decision: Decision) -> list[str]:
    """The explain trace in short lines: outcome, rule, what it read and changed."""
    lines = [
        f"action {decision.action}, outputs "
        + ", ".join(f"{k} = {show(v)}" for k, v in decision.outputs.items())
    ]
    for f in decision.trace:
        values = ", ".join(f"{k} = {show(v)}" for k, v in f.values.items())
        changes = ", ".join(f"{k}: {show(a)} -> {show(b)}" for k, (a, b) in f.changes.items())
        text = f"{f.outcome:<13} {f.rule} (line {f.line})"
        text += f" read {values}" if values else ""
        text += f"; {changes}" if changes else ""
        lines.append(text)
    for call in decision.models:
        lines.append(f"model {call.model} = {show(call.value)} ({call.source})")
    return lines


def render_counterexample(result: Any) -> str:
    """An invariant's shrunk counterexample, pasteable into a `test` block, and its trace."""
    reason = getattr(result, "reason", "")  # a deadline: the invariant may hold there
    lines = [
        f'  FAIL  invariant "{result.name}" (line {result.line})',
        f"    {'slow example' if reason else 'counterexample'} (seed {result.seed}, "
        f"{result.examples} examples){': ' + reason if reason else ''}:",
        f"      {result.counterexample}",
    ]
    if result.decision is not None:
        lines.append("    trace:")
        lines += [f"      {line}" for line in trace_lines(result.decision)]
    return "\n".join(lines)
