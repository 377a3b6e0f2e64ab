"""Checking invariants with generated inputs: compiled policy -> counterexamples.

Facts are drawn from the `facts` declarations (types, ranges, enumerations,
optional fields) and model answers from each model's whole range, no answer
included. Generation aims at the boundaries the policy names: every constant a
field or model is compared with, and just either side of it, so that `>=`
versus `>` mistakes are found rather than sampled by luck. A failure is shrunk
by Hypothesis and printed as a `given ... with ...` line to paste into a test.

Hypothesis shrinks toward the shortlex-smallest sequence of choices, so what is
drawn first is simplified first. Model answers are drawn before facts: a
counterexample prefers "the models give no answer" over a particular answer.
Shrinking can still stop at a local minimum (a failure that needs one answer,
where another with no answer needs a different fact); so when a failure names
an answer, the search runs once more with every model giving no answer, and
reports that counterexample when there is one: it does not rest on a model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import DeadlineExceeded, Flaky

from rulelang import ir
from rulelang.decision import Decision
from rulelang.interpreter import evaluate
from rulelang.program import CompiledPolicy
from rulelang.review.testing import decision_state, default_facts, show

Example = tuple[dict[str, dict[str, Any]], dict[str, Any]]

DEFAULT_EXAMPLES = 300
# Text a `.rule` string can hold (no line breaks), so a counterexample pastes.
TEXT = st.text(st.characters(exclude_characters="\n", codec="utf-8"), max_size=12)


@dataclass(frozen=True, slots=True)
class InvariantResult:
    name: str
    line: int
    examples: int
    counterexample: str = ""  # the `given ... with ...` line, empty when it held
    decision: Decision | None = None
    seed: int = 0
    reason: str = ""  # set when the example failed otherwise: over the deadline

    @property
    def passed(self) -> bool:
        return not self.counterexample

    @property
    def error(self) -> str:
        """Why the counterexample's decision failed (a division by zero...), or ""."""
        if self.decision is None or self.decision.error is None:
            return ""
        return "; ".join(self.decision.reasons)


@dataclass(frozen=True, slots=True)
class Found:
    """An example that was tried, with its decision (and why it failed, if not the invariant)."""

    example: Example
    decision: Decision
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Search:
    """How hard to look: examples per invariant, the seed, a per-example deadline."""

    examples: int = DEFAULT_EXAMPLES
    seed: int = 0
    deadline_ms: float | None = None


def check_invariants(
    compiled: CompiledPolicy,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed_value: int = 0,
    deadline_ms: float | None = None,
    aim: bool = True,
) -> list[InvariantResult]:
    return [
        check_invariant(
            compiled,
            inv,
            examples=examples,
            seed_value=seed_value,
            deadline_ms=deadline_ms,
            aim=aim,
        )
        for inv in compiled.policy.invariants
    ]


def check_invariant(
    compiled: CompiledPolicy,
    invariant: ir.Invariant,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed_value: int = 0,
    deadline_ms: float | None = None,
    aim: bool = True,
) -> InvariantResult:
    """Search for facts and model answers that break ``invariant``.

    ``aim=False`` draws without aiming at the policy's boundaries: only to measure
    what aiming buys (benchmarks/mutation.py --no-aim).
    """
    how = Search(examples, seed_value, deadline_ms)
    policy = compiled.policy
    edges = edge_examples(policy) if aim else ()
    found = search(compiled, invariant, examples_strategy(policy, aim=aim), how, edges)
    if found is None:
        return InvariantResult(invariant.name, invariant.span.line, examples, seed=seed_value)
    if not found.reason and any(a is not None for a in found.example[1].values()):
        quiet = examples_strategy(policy, no_answers=True, aim=aim)
        found = search(compiled, invariant, quiet, how) or found
    line = given_line(policy, found.example, found.decision)
    return InvariantResult(
        invariant.name,
        invariant.span.line,
        examples,
        line,
        found.decision,
        seed_value,
        found.reason,
    )


def search(
    compiled: CompiledPolicy,
    invariant: ir.Invariant,
    strategy: st.SearchStrategy[Example],
    how: Search,
    explicit: tuple[Example, ...] = (),
) -> Found | None:
    """The shrunk example that breaks ``invariant`` (or runs over the deadline), or None.

    ``explicit`` examples are tried first, whatever the seed and the budget."""
    last: list[Found] = []  # the example tried last (Hypothesis replays the shrunk one last)
    holds = _property(compiled, invariant, last)
    run = settings(
        max_examples=how.examples,
        deadline=how.deadline_ms,
        database=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )(seed(how.seed)(_with_examples(given(strategy)(holds), explicit)))
    try:
        run()
    except AssertionError:
        return last[0]
    except (DeadlineExceeded, Flaky):  # Flaky: over the deadline once, not when replayed
        return replace(
            last[0], reason=f"an example took longer than the deadline ({how.deadline_ms:g} ms)"
        )
    return None


def _with_examples(test: Callable[..., None], explicit: tuple[Example, ...]) -> Callable[..., None]:
    for one in reversed(explicit):  # decorators apply inside out: keep the given order
        test = example(one)(test)
    return test


def _property(
    compiled: CompiledPolicy, invariant: ir.Invariant, last: list[Found]
) -> Callable[[Example], None]:
    def holds(example: Example) -> None:
        facts, answers = example
        decision = compiled.decide(facts, explain=True, replace_models=answers)
        last[:] = [Found(example, decision)]
        state = decision_state(compiled, decision, facts)
        if decision.error is not None or evaluate(invariant.cond, state) is not True:
            raise AssertionError(invariant.name)

    return holds


# ---- strategies ------------------------------------------------------------------------------


def examples_strategy(
    policy: ir.Policy, *, no_answers: bool = False, aim: bool = True
) -> st.SearchStrategy[Example]:
    """Facts and model answers; answers are drawn first, so they shrink first."""
    bounds = boundaries(policy) if aim else {}
    facts = st.fixed_dictionaries(
        {block.name: facts_strategy(block, bounds) for block in policy.facts}
    )
    answers = st.fixed_dictionaries(
        {
            m.name: st.none()
            if no_answers
            else answer_strategy(m, bounds.get(("model", m.name), set()))
            for m in policy.models
        }
    )
    return st.tuples(answers, facts).map(lambda pair: (pair[1], pair[0]))


def facts_strategy(
    block: ir.Facts, bounds: dict[tuple[str, str], set[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    required = {
        f.name: field_strategy(f, bounds.get((block.name, f.name), set()))
        for f in block.fields
        if not f.optional
    }
    optional = {
        f.name: field_strategy(f, bounds.get((block.name, f.name), set()))
        for f in block.fields
        if f.optional
    }
    return st.fixed_dictionaries(required, optional=optional)


def field_strategy(info: ir.FieldInfo, near: set[Any]) -> st.SearchStrategy[Any]:
    kind = info.type.kind
    if info.type.enum:  # the values the policy compares with, as often as all the others
        compared = [v for v in info.type.enum if v in near]
        values = st.sampled_from(info.type.enum)
        return values | st.sampled_from(compared) if compared else values
    if kind == "bool":
        return st.booleans()
    if kind == "text":
        return st.sampled_from(["", *sorted(str(v) for v in near)]) | TEXT
    full = _numeric(info)
    edges = sorted({v for v in _edges(kind, near) if _inside(info, v)}, key=_key)
    return full | st.sampled_from(edges) if edges else full  # shrinks toward the default


def _numeric(info: ir.FieldInfo) -> st.SearchStrategy[Any]:
    kind, low, high = info.type.kind, info.low, info.high
    top_open = not info.high_inclusive
    if kind == "int":
        return st.integers(low, (high - 1 if top_open else high) if high is not None else None)
    if kind == "number":
        return st.floats(low, high, allow_nan=False, allow_infinity=False, exclude_max=top_open)
    places = 2 if kind == "money" else 4
    strategy = st.decimals(low, high, places=places, allow_nan=False, allow_infinity=False)
    return strategy.filter(lambda v: v < high) if top_open else strategy


def _edges(kind: str, values: set[Any]) -> set[Any]:
    """Each boundary and just either side of it, in the field's run-time form."""
    step: Any = {
        "int": 1,
        "number": 1e-6,
        "money": Decimal("0.01"),
        "percent": Decimal("0.0001"),
    }.get(kind, 0)
    out: set[Any] = set()
    for v in values:
        if kind == "int":
            if isinstance(v, (int, Decimal)) and v == int(v):
                out |= {int(v) - 1, int(v), int(v) + 1}
            continue
        base = float(v) if kind == "number" else Decimal(str(v))
        out |= {base - step, base, base + step}
    return out


def _inside(info: ir.FieldInfo, value: Any) -> bool:
    if info.low is None:
        return True
    return (
        bool(info.low <= value <= info.high)
        if info.high_inclusive
        else bool(info.low <= value < info.high)
    )


def _key(value: Any) -> Any:
    return float(value) if not isinstance(value, str) else 0


def answer_strategy(model: ir.Model, near: set[Any]) -> st.SearchStrategy[Any]:
    """Any answer the model could give, no answer first (it shrinks there)."""
    if model.result == "bool":
        values: st.SearchStrategy[Any] = st.booleans()
    elif model.result == "text":
        values = st.sampled_from(sorted(str(v) for v in near) or [""]) | TEXT
    else:
        low, high = (0.0, 1.0) if model.result == "score" else (-1e6, 1e6)
        edges = sorted({e for e in _edges("number", near) if low <= e <= high})
        values = st.floats(low, high, allow_nan=False, allow_infinity=False)
        values = values | st.sampled_from(edges) if edges else values
    return st.none() | values


def edge_examples(policy: ir.Policy) -> tuple[Example, ...]:
    """Each field at each edge of each boundary the policy names, the other fields at
    their defaults and no model answering: a `>=` written for `>` is found on every
    seed, not by the luck of the draw (shrinking would end at such an example anyway)."""
    fields = {(b.name, f.name): f for b in policy.facts for f in b.fields}
    silent = {m.name: None for m in policy.models}
    found: list[Example] = []
    for key, values in sorted(boundaries(policy).items()):
        info = fields.get(key)
        if info is None or info.type.enum or info.type.kind in ("bool", "text"):
            continue  # a model, or a field whose values the draw already enumerates
        for value in sorted(
            (v for v in _edges(info.type.kind, values) if _inside(info, v)), key=_key
        ):
            facts = default_facts(policy)
            facts[key[0]][key[1]] = value
            found.append((facts, dict(silent)))
    return tuple(found)


def boundaries(policy: ir.Policy) -> dict[tuple[str, str], set[Any]]:
    """Constants each field (facts, field) or model ("model", name) is compared with.

    An output that starts as a field (``shipping: money = order.shipping_quote``)
    stands for that field: a constraint ``shipping >= 5`` aims at the quote's 5.
    """
    found: dict[tuple[str, str], set[Any]] = defaultdict(set)
    starts = {out.name: out.init for out in policy.outputs}
    conds = [r.cond for r in policy.rules] + [e.cond for e in policy.ensures]
    conds += [i.cond for i in policy.invariants]
    for e in (node for cond in conds for node in ir.walk(cond)):
        for subject, consts in _compared(e):
            key = _subject_key(subject, starts)
            if key is not None:
                found[key] |= consts
    return found


def _compared(e: ir.Node) -> list[tuple[Any, set[Any]]]:
    if isinstance(e, ir.Compare):
        pairs = [(e.left, e.right), (e.right, e.left)]
        return [(a, {b.value}) for a, b in pairs if isinstance(b, ir.Const)]
    if isinstance(e, ir.InRange):
        consts = {c.value for c in (e.low, e.high) if isinstance(c, ir.Const)}
        return [(e.value, consts)]
    if isinstance(e, ir.InSet):
        return [(e.value, {c.value for c in e.items if isinstance(c, ir.Const)})]
    return []


def _subject_key(subject: Any, starts: dict[str, ir.Expr]) -> tuple[str, str] | None:
    while isinstance(subject, (ir.Convert, ir.Coalesce)):
        subject = subject.expr if isinstance(subject, ir.Convert) else subject.value
    if isinstance(subject, ir.Output) and subject.name in starts:
        start = starts[subject.name]
        return _subject_key(start, {}) if isinstance(start, (ir.Field, ir.Convert)) else None
    if isinstance(subject, ir.Field):
        return (subject.facts, subject.field)
    if isinstance(subject, ir.ModelCall):
        return ("model", subject.model)
    return None


# ---- the counterexample as a `given ... with ...` line ----------------------------------------


def given_line(policy: ir.Policy, example: Example, decision: Decision) -> str:
    """Fields that differ from a test's defaults, plus those the fired rules read.

    The line parses as test clauses: paste it into a `test` block (with the
    invariant as its `expect`) and the test fails the same way.
    """
    facts, answers = example
    parts = given_parts(policy, facts, decision)
    models = [
        f"{m.name} = {answer_literal(answers[m.name], m)}"
        for m in policy.models
        if m.name in answers
    ]
    if not parts and not models:
        parts = [_any_field(policy, facts)]
    text = "given " + ", ".join(parts) if parts else ""
    if models:
        text += (" " if text else "") + "with " + ", ".join(models)
    return text or "# every test default breaks it"


def given_parts(
    policy: ir.Policy, facts: dict[str, dict[str, Any]], decision: Decision
) -> list[str]:
    """Fields away from their defaults, and those the outcome rests on even at their
    defaults: what the rules that ran read, or what the code that failed reads."""
    defaults = default_facts(policy)
    read = {
        label
        for f in decision.trace
        if f.outcome in ("fired", "unknown") and f.kind == "rule"
        for label in f.values
    }
    read |= failed_reads(policy, decision)
    parts = []
    for block in policy.facts:
        for info in block.fields:
            label = f"{block.name}.{info.name}"
            if info.name not in facts[block.name]:
                continue
            value = facts[block.name][info.name]
            if value != defaults[block.name].get(info.name, None) or label in read:
                parts.append(f"{label} = {literal(value, info.type.kind)}")
    return parts


def failed_reads(policy: ir.Policy, decision: Decision) -> set[str]:
    """The fields read by the output start, rule or constraint whose evaluation failed
    (every field when the error does not say where): a division by a field at its
    default of 0 fails there, and the line must say so."""
    error = decision.error
    if error is None or error.get("type") != "evaluation":
        return set()
    where: list[ir.Node] = [o.init for o in policy.outputs if o.name == error.get("output")]
    where += [r for r in policy.rules if r.name == error.get("rule")]
    where += [e for e in policy.ensures if e.name == error.get("rule")]
    if not where:
        return {f"{b.name}.{f.name}" for b in policy.facts for f in b.fields}
    return {node.label for root in where for node in ir.walk(root) if isinstance(node, ir.Field)}


def _any_field(policy: ir.Policy, facts: dict[str, dict[str, Any]]) -> str:
    """One field at its (default) value: a `given` needs at least one."""
    for block in policy.facts:
        for info in block.fields:
            if info.name in facts[block.name]:
                value = facts[block.name][info.name]
                return f"{block.name}.{info.name} = {literal(value, info.type.kind)}"
    return ""


def answer_literal(value: Any, model: ir.Model) -> str:
    return "unknown" if value is None else literal(value, model.type.kind)


def literal(value: Any, kind: str) -> str:
    """A value as the language writes it (a string with its quotes escaped)."""
    if kind == "percent" and isinstance(value, Decimal):
        return format((value * 100).normalize(), "f") + "%"
    if isinstance(value, float):
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return show(value)
