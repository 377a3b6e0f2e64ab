"""Two back-ends, one meaning: the compiled evaluator against the reference interpreter.

On random well-typed policies (``strategies.policies``), random valid facts and
random model answers (good, missing, NaN, out of range, raising), both back-ends
must agree on the outputs, action, reasons, review role, fired rules, the explain
trace and the exact sequence of model calls.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from conftest import HEAD, exact, facts
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from strategies import TableModel, facts_for, model_answers, policies, replacements

import rulelang
from rulelang import interpreter
from rulelang.decision import Decision, ModelCall
from rulelang.errors import EvaluationError
from rulelang.runtime import ACTION_NAMES, Frame


def calls(records: Any) -> list[ModelCall]:
    """Model calls without their timing."""
    return [dataclasses.replace(c, ms=0.0) for c in records]


def trace(firings: Any) -> list[Any]:
    return [
        exact((f.rule, f.line, f.outcome, dict(f.values), dict(f.changes), f.kind)) for f in firings
    ]


def reference(
    compiled: rulelang.CompiledPolicy, checked: dict[str, Any], replaced: dict[str, Any]
) -> tuple[interpreter.State | EvaluationError, Frame]:
    """The interpreter's decision (or the located error it raised), with the frame built
    the way program.py builds it."""
    index = {m.name: m.index for m in compiled.policy.models}
    frame = Frame(compiled.models, {index[k]: v for k, v in replaced.items()} or None)
    try:
        return interpreter.run(compiled.policy, checked, frame), frame
    except EvaluationError as exc:
        return exc, frame


def assert_agree(
    compiled: rulelang.CompiledPolicy, raw: dict[str, Any], replaced: dict[str, Any]
) -> None:
    checked = compiled.validator.validate(raw)
    fast = compiled.decide(raw, replace_models=replaced or None)
    slow = compiled.decide(raw, explain=True, replace_models=replaced or None)
    state, frame = reference(compiled, checked, replaced)
    assert calls(fast.models) == calls(frame.calls) == calls(slow.models)
    if isinstance(state, EvaluationError):  # the reference raised: a blocked error, alike
        for d in (fast, slow):
            assert d.error == state.to_dict()  # the same place: rule, or output and line
            assert d.reasons == (state.reason,)
            assert d.action == "block" and d.fired == ()
        return
    for d in (fast, slow):
        assert d.error is None
        assert exact(d.outputs) == exact(state.outputs)
        assert d.action == ACTION_NAMES[state.action]
        assert d.reasons == tuple(state.reasons)
        assert d.review_by == state.review_by
        assert d.fired == tuple(state.fired)
    assert fast.trace == ()
    assert trace(slow.trace) == trace(state.trace)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=policies(), data=st.data())
def test_compiled_and_reference_agree(generated: Any, data: st.DataObject) -> None:
    try:
        compiled = rulelang.open_source(generated.source, allow_unbound=True)
    except rulelang.RuleError as exc:  # the generator writes only well-typed policies
        pytest.fail(f"generated policy does not check:\n{generated.source}\n{exc}")
    note(generated.source)
    answers = data.draw(model_answers(compiled.policy), label="answers")
    models = {name: TableModel(name, table) for name, table in answers.items()}
    compiled = rulelang.CompiledPolicy(compiled.policy, models)
    for _ in range(4):
        raw = data.draw(facts_for(compiled.policy), label="facts")
        replaced = (
            data.draw(replacements(compiled.policy), label="with")
            if data.draw(st.integers(0, 3), label="replace?") == 0
            else {}
        )
        assert_agree(compiled, raw, replaced)


# ---- hand-written cases the generator reaches only by luck ------------------------------------

MODELS = {
    "risk": "model risk(item) -> score\nend\n",
    "sim": "model sim(text) -> number\n  fallback 0\nend\n",
}


def agree(body: str, answers: dict[str, Any], **item: Any) -> Decision:
    """Decide HEAD + the answered models' declarations + body; both back-ends must agree."""
    table = {name: TableModel(name, [a]) for name, a in answers.items()}
    declared = "".join(MODELS[name] for name in answers)
    compiled = rulelang.open_source(HEAD + declared + body, models=table)
    assert_agree(compiled, facts(**item), {})
    return compiled.decide(facts(**item), explain=True)


def test_unknown_stops_a_strict_operation_before_later_models() -> None:
    # risk has no answer: the comparison is unknown at once, sim is never asked
    d = agree(
        'rule r\n  when risk(item) + sim("a") > 1\n  then block "x"\n'
        '  if unknown then review "y"\nend\n',
        {"risk": None, "sim": 0.5},
    )
    assert [c.model for c in d.models] == ["risk"]
    assert d.action == "review"


def test_kleene_logic_in_both_back_ends() -> None:
    body = (
        'rule r\n  when risk(item) > 0.5 or item.stock > 3\n  then block "x"\n'
        '  if unknown then review "y"\nend\n'
    )
    assert agree(body, {"risk": None}, stock=5).action == "block"  # unknown or true
    assert agree(body, {"risk": None}, stock=1).action == "review"  # unknown or false
    body = (
        'rule r\n  when item.stock > 3 and risk(item) > 0.5\n  then block "x"\n'
        '  if unknown then review "y"\nend\n'
    )
    d = agree(body, {"risk": None}, stock=1)  # false and ...: risk not asked
    assert d.action == "allow" and d.models == ()


def test_division_by_zero_blocks_in_both() -> None:
    d = agree(
        'rule r\n  when item.score / item.stock > 1\n  then block "x"\nend\n'
        'rule s\n  when sim("a") > 0\n  then rank = 2\nend\n',
        {"sim": 0.5},
        stock=0,
    )
    assert d.action == "block" and d.error is not None and d.error["rule"] == "r"


def test_a_division_by_zero_in_a_starting_value_names_the_output_in_both() -> None:
    d = agree(
        "decision\n  ratio: number = item.score / item.stock\nend\n"
        'rule r\n  when sim("a") > 0\n  then rank = 2\nend\n'
        "ensure e\n  rank > 0\n  otherwise rank = 1\nend\n",
        {"sim": 0.5},
        stock=0,
    )
    line = (HEAD + MODELS["sim"]).count("\n") + 2  # the line of `ratio: ...`
    assert d.error == {
        "type": "evaluation",
        "message": "division by zero",
        "output": "ratio",
        "line": line,
    }
    assert d.reasons == (
        f"evaluation error in the starting value of ratio (line {line}): division by zero",
    )


def test_money_stays_exact_in_both() -> None:
    d = agree(
        "rule r\n  when item.stock > 0\n  then out = item.price - 0.15\nend\n"
        'rule s\n  when sim("a") > 0 and risk(item) > 0 \n  then rank = 2\n'
        "  if unknown then rank = 3\nend\n",
        {"risk": 0.5, "sim": 0.5},
        price="0.45",
    )
    assert d.outputs["out"] == Decimal("0.30")
    assert isinstance(d.outputs["out"], Decimal)


def test_trace_lists_the_model_answers_a_rule_read() -> None:
    d = agree(
        'rule r\n  when risk(item) >= 0.5\n  then block "x"\n  if unknown then review "y"\nend\n',
        {"risk": (0.7, 0.9)},
    )
    (firing,) = d.trace
    assert firing.values == {"risk(item)": 0.7}
