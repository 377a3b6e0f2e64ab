"""Static review (rulelang.review.analysis): W401 never fires, W402 shadowed, W403 write conflicts.

Each warning on a small policy, with its span and help; none on the examples and
the standard library; `rulelang check` prints warnings and still succeeds; and,
on random policies, every warning is true: a rule said never to fire never fires,
removing a shadowed rule changes no decision, and the example input of a
conflict makes both rules fire.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import HEAD, REPO, underlined
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from strategies import facts_for, policies

import rulelang
from rulelang import ir
from rulelang.cli import main
from rulelang.errors import Diagnostic
from rulelang.program import CompiledPolicy, compile_file
from rulelang.review.analysis import review
from rulelang.review.testing import run_test
from rulelang.source import SourceFile

FIRST = HEAD.count("\n") + 1  # the line of the first rule after HEAD
POLICIES = sorted(REPO.glob("examples/*/policy.rule")) + sorted(
    REPO.glob("stdlib_rules/tests/*.rule")
)


def warnings(body: str) -> list[Diagnostic]:
    policy = compile_file(SourceFile("t.rule", HEAD + body))
    found = review(policy)
    assert all(d.severity == "warning" for d in found)
    return found


def codes(body: str) -> list[tuple[str, str]]:
    """(code, underlined text) of every warning."""
    return [(d.code, underlined(d.render())[0]) for d in warnings(body)]


# ---- W401: never fires ---------------------------------------------------------------------


def test_a_bound_beyond_the_declared_range_never_fires() -> None:
    [w] = warnings('rule big\n  when item.stock > 100\n  then block "x"\nend\n')
    assert w.code == "W401"
    assert "rule `big` can never fire" in w.message
    assert underlined(w.render()) == ["item.stock > 100"]
    assert "`item.stock` is declared as int in 0 .. 100" in w.help


@pytest.mark.parametrize(
    "cond",
    [
        'item.category != "bags" and item.category != "shoes"',
        'item.category == "bags" and item.category == "shoes"',
        'not (item.category in {"bags", "shoes"})',
        "item.stock > 5 and item.stock < 6",  # no int between
        "item.stock in 50 ..< 50",
        "item.price < 0",
        "item.discount > 100%",
        "item.vip and not item.vip",
        "item.score > 10 and item.vip",
        "item.ltv is present and item.ltv > 100000",
    ],
)
def test_conditions_no_valid_input_meets(cond: str) -> None:
    body = f'rule r\n  when {cond}\n  then block "x"\nend\n'
    assert [c for c, _ in codes(body)] == ["W401"]


@pytest.mark.parametrize(
    "cond",
    [
        "item.stock >= 100",
        "item.stock > 5 and item.stock < 7",
        "item.score > 9.99 and item.score < 10",
        'item.category != "bags"',
        "item.stock > 100 or item.vip",  # a disjunction over two fields is not read
        "item.stock != 0 and item.stock != 2",
        "item.ltv ?? 0 > 100000",  # `??` is an unknown region
        "item.price > item.cost",
    ],
)
def test_conditions_some_input_meets(cond: str) -> None:
    body = f'rule r\n  when {cond}\n  then block "x"\nend\n'
    assert codes(body) == []


# ---- W402: shadowed ------------------------------------------------------------------------


def test_a_review_under_an_earlier_block_is_shadowed() -> None:
    [w] = warnings(
        'rule out\n  priority 10\n  when item.stock <= 5\n  then block "out"\nend\n'
        'rule low\n  when item.stock == 0 and item.vip\n  then review "low"\nend\n'
    )
    assert w.code == "W402"
    assert "rule `low` is shadowed" in w.message
    assert f"`out` (line {FIRST}) has already raised the action to block" in w.message
    assert underlined(w.render()) == ["rule low"]
    assert w.help.startswith("it changes no output, action or review role")


def test_priority_decides_what_runs_earlier() -> None:
    # `out` is written later but runs first: it has the higher priority
    body = (
        'rule low\n  when item.stock == 0\n  then review "low"\nend\n'
        'rule out\n  priority 10\n  when item.stock <= 5\n  then block "out"\nend\n'
    )
    assert codes(body) == [("W402", "rule low")]


def test_a_review_naming_a_role_is_not_shadowed_by_a_block_without_one() -> None:
    body = (
        'rule out\n  priority 10\n  when item.stock <= 5\n  then block "out"\nend\n'
        'rule low\n  when item.stock == 0\n  then review "low" by planner\nend\n'
    )
    assert codes(body) == []


def test_a_narrower_condition_does_not_shadow() -> None:
    body = (
        'rule out\n  priority 10\n  when item.stock == 0\n  then block "out"\nend\n'
        'rule low\n  when item.stock <= 5\n  then review "low"\nend\n'
    )
    assert codes(body) == []


def test_an_earlier_rule_read_from_a_model_does_not_shadow() -> None:
    body = (
        "rule out\n  priority 10\n  when item.stock == 0 and item.price > item.cost\n"
        '  then block "out"\nend\n'
        'rule low\n  when item.stock == 0\n  then review "low"\nend\n'
    )
    assert codes(body) == []


def test_the_same_value_set_again_is_shadowed() -> None:
    [w] = warnings(
        'rule cap\n  when item.category == "bags"\n  then out = 10\nend\n'
        'rule cap2\n  when item.category == "bags" and item.vip\n  then out = 10\n'
        "end\n"
    )
    assert (w.code, w.message.split(": ", 1)[1]) == (
        "W402",
        f"whenever it fires, `cap` (line {FIRST}) has already set `out` to the same value",
    )


def test_the_same_value_after_another_write_is_not_shadowed() -> None:
    body = (
        'rule cap\n  when item.category == "bags"\n  then out = 10\nend\n'
        "rule other\n  when item.vip\n  then out = 20\nend\n"
        'rule cap2\n  when item.category == "bags" and item.vip\n  then out = 10\nend\n'
    )
    assert "W402" not in [c for c, _ in codes(body)]


def test_a_value_always_set_again_later_is_shadowed() -> None:
    body = (
        "rule r1\n  when item.vip\n  then rank = 2.0\nend\n"
        "rule r2\n  when item.stock >= 0\n  then rank = 3.0\nend\n"
    )
    [w] = warnings(body)
    assert w.code == "W402"
    assert f"`r2` (line {FIRST + 4}) always sets `rank` again later" in w.message


def test_a_value_read_before_it_is_set_again_is_not_shadowed() -> None:
    body = (
        "rule r1\n  when item.vip\n  then rank = 2.0\nend\n"
        'rule reader\n  when rank > 1.5\n  then block "x"\nend\n'
        "rule r2\n  when item.stock >= 0\n  then rank = 3.0\nend\n"
    )
    assert "W402" not in [c for c, _ in codes(body)]


def test_a_boost_of_the_value_reads_it() -> None:
    body = (
        "rule r1\n  when item.vip\n  then rank = 2.0\nend\n"
        "rule r2\n  when item.stock >= 0\n  then boost rank by 10%\nend\n"
    )
    assert "W402" not in [c for c, _ in codes(body)]


# ---- W403: write conflicts --------------------------------------------------------------------


def test_two_values_for_one_output_on_overlapping_conditions() -> None:
    [w] = warnings(
        "rule a\n  when item.stock < 10\n  then out = 5\nend\n"
        "rule b\n  when item.stock > 5\n  then out = 6\nend\n"
    )
    assert w.code == "W403"
    assert w.message == (
        f"rules `a` (line {FIRST}) and `b` (line {FIRST + 4}) both set `out` "
        "to different values where both fire (for example item.stock = 6)"
    )
    assert underlined(w.render()) == ["rule b"]
    assert "`b` runs later, so its value wins" in w.help


def test_a_later_value_discarding_a_boost_conflicts() -> None:
    [w] = warnings(
        "rule a\n  when item.vip\n  then boost out by 10%\nend\n"
        'rule b\n  when item.category == "shoes"\n  then out = 5\nend\n'
    )
    assert w.code == "W403"
    assert "write `out`: `b` sets it, discarding what `a` did to it" in w.message
    assert 'item.category = "shoes", item.vip = true' in w.message


def test_two_review_roles_conflict() -> None:
    [w] = warnings(
        'rule a\n  when item.vip\n  then review "x" by alice\nend\n'
        'rule b\n  when item.stock > 3\n  then review "y" by bob\nend\n'
    )
    assert w.code == "W403" and "different roles (`alice` and `bob`)" in w.message


@pytest.mark.parametrize(
    "body",
    [
        # exclusive conditions
        "rule a\n  when item.stock < 5\n  then out = 5\nend\n"
        "rule b\n  when item.stock >= 5\n  then out = 6\nend\n",
        # a later rule adjusting what an earlier one set: the sequential design at work
        "rule a\n  when item.vip\n  then out = 5\nend\n"
        'rule b\n  when item.category == "shoes"\n  then boost out by 10%\nend\n',
        "rule a\n  when item.vip\n  then out = out + 5\nend\n"
        "rule b\n  when item.stock > 3\n  then out = out + 5\nend\n",
        # boosts commute
        "rule a\n  when item.vip\n  then boost rank by 10%\nend\n"
        "rule b\n  when item.stock > 3\n  then boost rank by 5%\nend\n",
        # the same value
        "rule a\n  when item.vip\n  then out = item.cost\nend\n"
        "rule b\n  when item.stock > 3\n  then out = item.cost\nend\n",
        # an unknown region may not overlap
        "rule a\n  when item.price > item.cost\n  then out = 5\nend\n"
        "rule b\n  when item.stock > 3\n  then out = 6\nend\n",
        # one role
        'rule a\n  when item.vip\n  then review "x" by alice\nend\n'
        'rule b\n  when item.stock > 3\n  then review "y" by alice\nend\n',
    ],
)
def test_no_conflict(body: str) -> None:
    assert codes(body) == []


# ---- the shipped policies, and `rulelang check` ---------------------------------------------


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_no_warning_on_the_examples_and_the_standard_library(path: Path) -> None:
    assert review(compile_file(SourceFile.read(path))) == []


def test_check_prints_warnings_and_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.rule"
    path.write_text(
        HEAD + 'rule big\n  when item.stock > 100\n  then block "x"\nend\n', encoding="utf-8"
    )
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "warning[W401]: rule `big` can never fire" in err
    assert underlined(err) == ["item.stock > 100"]
    assert out.startswith(f"ok: {path}:") and "1 warning" in out


# ---- every warning is true, on random policies ----------------------------------------------


def decide_all(compiled: CompiledPolicy, facts: Any, answers: dict[str, Any]) -> Any:
    return compiled.decide(facts, explain=True, replace_models=answers)


def answers_for(policy: ir.Policy) -> st.SearchStrategy[dict[str, Any]]:
    def value(m: ir.Model) -> st.SearchStrategy[Any]:
        if m.result == "bool":
            return st.none() | st.booleans()
        if m.result == "text":
            return st.none() | st.sampled_from(["a", "b", "c"])
        return st.none() | st.sampled_from([0.0, 0.5, 0.9, 1.0])

    return st.fixed_dictionaries({m.name: value(m) for m in policy.models})


def without(policy: ir.Policy, name: str) -> ir.Policy:
    return replace(policy, rules=tuple(r for r in policy.rules if r.name != name))


def check_conflict_example(source: str, w: Diagnostic) -> None:
    """Paste the example into a test: both rules fire on it."""
    names = re.findall(r"`(\w+)`", w.message)[:2]
    example = re.search(r"for example (.*)\)$", w.message)
    assert example is not None
    if example.group(1) == "any input":
        return
    test = (
        f'\ntest "both fire"\n  given {example.group(1)}\n  expect fired {", ".join(names)}\nend\n'
    )
    compiled = rulelang.open_source(source + test, allow_unbound=True)
    answers = {m.name: None for m in compiled.policy.models}
    pasted = replace(
        compiled.policy.tests[-1],
        models=tuple((name, value, True) for name, value in answers.items()),
    )
    result = run_test(compiled, pasted)
    if result.decision is not None and result.decision.error is not None:
        return  # another rule failed (x / 0): nothing fires
    assert result.passed, (w.render(), result.failures)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=policies(), data=st.data())
def test_every_warning_is_true(generated: Any, data: st.DataObject) -> None:
    compiled = rulelang.open_source(generated.source, allow_unbound=True)
    found = review(compiled.policy)
    note(generated.source)
    note("\n".join(d.render() for d in found))
    never = {d.message.split("`")[1] for d in found if d.code == "W401"}
    shadowed = [d.message.split("`")[1] for d in found if d.code == "W402"]
    trimmed = [
        CompiledPolicy(without(compiled.policy, n), {}, allow_unbound=True) for n in shadowed
    ]
    for _ in range(6):
        facts = data.draw(facts_for(compiled.policy), label="facts")
        answers = data.draw(answers_for(compiled.policy), label="answers")
        d = decide_all(compiled, facts, answers)
        if d.error is not None:
            continue
        ran = {f.rule for f in d.trace if f.outcome in ("fired", "unknown")}
        assert not (ran & never), ran & never
        for other in trimmed:
            e = decide_all(other, facts, answers)
            if e.error is None:
                assert (e.outputs, e.action, e.review_by) == (d.outputs, d.action, d.review_by)
    for w in found:
        if w.code == "W403":
            check_conflict_example(generated.source, w)


# ---- the same, on policies made to draw warnings -----------------------------------------------
# Conditions over single fields with constants at and around the declared bounds,
# and actions on two outputs: most draws give a W401, W402 or W403 to verify.

SMALL_HEAD = """\
policy small
  version "1"
end

facts item
  k: int in 0 .. 10
  x: number in 0 ..< 10
  p: money in 0 .. 100
  c: text in {"a", "b", "c"}
  v: bool
  s: text
end

decision
  o: number = 1.0
  m: money = item.p
end
"""
ATOMS = st.one_of(
    st.tuples(
        st.sampled_from(["item.k", "item.x", "item.p"]),
        st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
        st.sampled_from(["-1", "0", "1", "5", "9.5", "10", "11", "100"]),
    ).map(" ".join),
    st.tuples(
        st.sampled_from(["item.k", "item.x"]),
        st.sampled_from(["0", "2", "10"]),
        st.sampled_from(["..", "..<"]),
        st.sampled_from(["0", "3", "10"]),
    ).map(lambda t: f"{t[0]} in {t[1]} {t[2]} {t[3]}"),
    st.sampled_from(
        [
            "item.k in {0, 1}",
            "not (item.k in {0, 10})",
            'item.c in {"a", "b"}',
            'item.c in {"c"}',
            'item.c == "a"',
            'item.c != "b"',
            'item.s == "q"',
            'item.s != ""',
            "item.v",
            "item.p > item.p * 2",
        ]
    ),
)
CONDS = st.recursive(
    ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "and", "or", "implies"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda c: f"(not {c})"),
    ),
    max_leaves=4,
)
ACTIONS = st.sampled_from(
    [
        'block "b"',
        'review "r"',
        'review "r" by alice',
        'review "r" by bob',
        "o = 2.0",
        "o = 3.0",
        "boost o by 10%",
        "m = item.p",
        "m = 7",
        "o = o * 2",
    ]
)


@st.composite
def small_policies(draw: Any) -> str:
    rules = []
    for i in range(draw(st.integers(2, 5))):
        actions = draw(st.lists(ACTIONS, min_size=1, max_size=2))
        priority = draw(st.sampled_from(["", "  priority 10\n"]))
        rules.append(
            f"rule r{i}\n{priority}  when {draw(CONDS)}\n  then {', '.join(actions)}\nend\n"
        )
    return SMALL_HEAD + "".join(rules)


SMALL_FACTS = st.fixed_dictionaries(
    {
        "item": st.fixed_dictionaries(
            {
                "k": st.integers(0, 10),
                "x": st.sampled_from([0.0, 0.5, 2.0, 3.0, 9.5])
                | st.floats(0, 10, exclude_max=True),
                "p": st.sampled_from(["0", "1", "5", "9.5", "10", "11", "99.99", "100"])
                | st.decimals(0, 100, places=2),
                "c": st.sampled_from(["a", "b", "c"]),
                "v": st.booleans(),
                "s": st.sampled_from(["", "q", "x"]),
            }
        )
    }
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(source=small_policies(), data=st.data())
def test_every_warning_is_true_on_small_policies(source: str, data: st.DataObject) -> None:
    compiled = rulelang.open_source(source, allow_unbound=True)
    found = review(compiled.policy)
    note(source)
    note("\n".join(d.render() for d in found))
    never = {d.message.split("`")[1] for d in found if d.code == "W401"}
    trimmed = [
        CompiledPolicy(without(compiled.policy, d.message.split("`")[1]), {}, allow_unbound=True)
        for d in found
        if d.code == "W402"
    ]
    for _ in range(10):
        facts = data.draw(SMALL_FACTS, label="facts")
        d = compiled.decide(facts, explain=True)
        assert not ({f.rule for f in d.trace if f.outcome == "fired"} & never)
        for other in trimmed:
            e = other.decide(facts)
            assert (e.outputs, e.action, e.review_by) == (d.outputs, d.action, d.review_by)
    for w in found:
        if w.code == "W403":
            check_conflict_example(source, w)
