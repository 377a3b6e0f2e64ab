"""The checker: AST -> typed IR, or every problem at once, sorted, each with a hint.

Golden files (tests/golden/diagnostics/NAME.rule in, NAME.txt the rendered report)
show whole reports; the plain tests below pin what a user reads first: the text
under the caret and the `help:` line. The last tests exercise the checker's
promise that a policy that checks never fails at run time with a type error.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, HEAD, assert_golden, error_of, facts, underlined
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from strategies import facts_for, policies

import rulelang
from rulelang.errors import CheckError, ParseError, RuleError

DIAGNOSTICS = GOLDEN / "diagnostics"
GOLDENS = sorted(DIAGNOSTICS.glob("*.rule"))


def report_of(body: str, head: str = HEAD) -> str:
    err = error_of(head + body)
    assert isinstance(err, CheckError), err
    return str(err)


def helps(report: str) -> list[str]:
    return [line.split("= help: ", 1)[1] for line in report.splitlines() if "= help: " in line]


def codes(report: str) -> list[str]:
    return re.findall(r"error\[(E\d{3})\]", report)


def rule(when: str, then: str = "rank = 2") -> str:
    return f"rule r\n  when {when}\n  then {then}\nend\n"


# ---- golden reports -----------------------------------------------------------------------


def test_the_golden_inputs_are_there() -> None:
    assert {p.stem for p in GOLDENS} >= {
        "unknown_names",
        "type_mismatch",
        "enum_values",
        "assign_to_fact",
        "optional_fields",
        "models",
        "duplicates",
        "constant_false",
        "all_at_once",
        "declarations",
        "tests_and_invariants",
    }


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.stem)
def test_golden_report(path: Path) -> None:
    err = error_of(path.read_text(encoding="utf-8"), name=path.name)
    assert isinstance(err, CheckError)
    assert_golden(path.with_suffix(".txt"), str(err) + "\n")


# ---- unknown names: the nearest one is suggested -----------------------------------------


@pytest.mark.parametrize(
    ("body", "under", "hint"),
    [
        (rule("item.stok == 0"), "item.stok", "did you mean `item.stock`?"),
        (rule("itme.stock == 0"), "itme.stock", "did you mean `item`?"),
        (rule("item.vip", "rnak = 2"), "rnak", "did you mean `rank`?"),
        (rule("rnak > 1"), "rnak", "did you mean `rank`?"),
        (rule("item.stock.count > 1"), "item.stock.count", ""),
        (rule("scroe(item) > 1"), "scroe(item)", "declare it: `model scroe(...) -> score ... end`"),
        ('test "t"\n  given item.stok = 1\nend\n', "item.stok", "did you mean `item.stock`?"),
        ('test "t"\n  expect fired rr\nend\n' + rule("item.vip"), "rr", "did you mean `r`?"),
        ("facts more\n  size: nubmer\nend\n", "size: nubmer", "did you mean `number`?"),
    ],
)
def test_unknown_names_suggest_the_nearest(body: str, under: str, hint: str) -> None:
    report = report_of(body)
    assert underlined(report) == [under]
    assert helps(report) == ([hint] if hint else [])


def test_a_model_name_is_suggested_for_a_misspelled_call() -> None:
    head = HEAD + "model fraud_risk(item) -> score\n  fallback 0\nend\n"
    report = report_of(
        rule("fraud_rsk(item) > 0.5") + rule("fraud_risk(item) > 1").replace("rule r", "rule s"),
        head,
    )
    assert underlined(report) == ["fraud_rsk(item)"]
    assert helps(report) == ["did you mean `fraud_risk`?"]


def test_outputs_are_unknown_where_only_facts_are() -> None:
    report = report_of("decision\n  later: number = rank\nend\n")
    assert underlined(report) == ["rank"]
    assert "only facts are known in starting values" in report


# ---- types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "under", "hint"),
    [
        # money never mixes with a number; the help names the conversion
        (rule("item.vip", "rank = item.price"), "item.price", "convert with number(...)"),
        (rule("item.vip", "out = item.score"), "item.score", "convert with money(...)"),
        (
            rule("item.price > item.score"),
            "item.price > item.score",
            "convert one side: money(x) or number(x)",
        ),
        (
            rule("item.price + item.score > 1"),
            "item.price + item.score",
            "convert one side: money(x) or number(x)",
        ),
        (
            rule("item.price in 0 .. item.score"),
            "item.price in 0 .. item.score",
            "convert one side: money(x) or number(x)",
        ),
        (
            rule("item.price in {1, item.score}"),
            "item.score",
            "convert one side: money(x) or number(x)",
        ),
        (rule("(item.ltv ?? item.score) > 1"), "item.score", "convert with money(...)"),
        (
            rule("max(item.price, item.score) > 1"),
            "max(item.price, item.score)",
            "convert one side: money(x) or number(x)",
        ),
        ("override rank by ops within item.price .. 2\n", "item.price", "convert with number(...)"),
        # other mismatches
        (rule("item.stock"), "item.stock", "compare it, e.g. `x > 0`"),
        (
            rule('item.category > "a"'),
            'item.category > "a"',
            "use == or != for text and true/false",
        ),
        (
            rule("item.vip", "boost rank by item.score"),
            "item.score",
            "write for example `boost rank by 15%`",
        ),
        (rule("item.vip", "out = item.price * item.price"), "item.price * item.price", ""),
        (rule("item.category == 3"), "item.category == 3", ""),
    ],
)
def test_type_mismatches(body: str, under: str, hint: str) -> None:
    report = report_of(body)
    assert codes(report)[0] in ("E303", "E305", "E306")
    assert underlined(report) == [under]
    assert helps(report) == ([hint] if hint else [])


def test_explicit_conversions_check_and_compute() -> None:
    compiled = rulelang.open_source(
        HEAD
        + rule(
            "item.vip",
            "rank = number(item.price) * item.score, out = money(item.score) + item.price",
        ),
        allow_unbound=True,
    )
    decision = compiled.decide(facts(vip=True, score=1.5, price="10.25"))
    assert decision.outputs == {"rank": 15.375, "out": Decimal("11.75")}
    assert isinstance(decision.outputs["rank"], float)
    assert isinstance(decision.outputs["out"], Decimal)


def test_percent_mixes_with_money_and_number() -> None:
    compiled = rulelang.open_source(
        HEAD
        + rule("item.vip", "out = item.price * item.discount, rank = item.score * item.discount"),
        allow_unbound=True,
    )
    decision = compiled.decide(facts(vip=True, score=2.0, price="0.45", discount="0.10"))
    assert decision.outputs["out"] == Decimal("0.045")
    assert decision.outputs["rank"] == pytest.approx(0.2)


def test_round_gives_an_int() -> None:
    head = HEAD.replace("  rank: number = 1.0\n", "  rank: number = 1.0\n  units: int = 0\n")
    compiled = rulelang.open_source(
        head + rule("item.vip", "units = round(item.score), out = round(item.price, 1)"),
        allow_unbound=True,
    )
    decision = compiled.decide(facts(vip=True, score=2.5, price="10.25"))
    assert decision.outputs["units"] == 3 and isinstance(decision.outputs["units"], int)
    assert decision.outputs["out"] == Decimal("10.3")
    report = report_of(rule("item.vip", "units = item.score"), head)
    assert underlined(report) == ["item.score"] and helps(report) == ["round it: round(x)"]


# ---- enumerations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "under", "hint"),
    [
        (rule('item.category == "bag"'), '"bag"', 'did you mean "bags"?'),
        (rule('"shoe" != item.category'), '"shoe"', 'did you mean "shoes"?'),
        (rule('item.category in {"bags", "hats"}'), '"hats"', 'expected one of "bags", "shoes"'),
        (
            'test "t"\n  given item.category = "sandals"\nend\n',
            '"sandals"',
            'expected one of "bags", "shoes"',
        ),
    ],
)
def test_enum_values_that_do_not_exist(body: str, under: str, hint: str) -> None:
    report = report_of(body)
    assert codes(report) == ["E317"]
    assert underlined(report) == [under]
    assert helps(report) == [hint]


# ---- assignments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "under", "hint"),
    [
        (
            rule("item.vip", "item.price = 0"),
            "item.price",
            "facts are input: assign to a decision output instead",
        ),
        (
            rule("item.vip", "boost item by 5%"),
            "item",
            "facts are input: assign to a decision output instead",
        ),
        (
            "ensure e\n  out >= item.cost\n  otherwise item.cost = out\nend\n",
            "item.cost",
            "facts are input: assign to a decision output instead",
        ),
        (
            rule("item.vip", "action = block"),
            "action",
            'write `block "reason"` or `review "reason" by ROLE`',
        ),
        (
            'test "t"\n  given rank = 2\nend\n',
            "rank",
            "outputs are computed: check them with `expect`",
        ),
        (
            'test "t"\n  given item = 2\nend\n',
            "item",
            "outputs are computed: check them with `expect`",
        ),
    ],
)
def test_assignment_to_facts_and_built_ins(body: str, under: str, hint: str) -> None:
    report = report_of(body)
    assert underlined(report) == [under]
    assert helps(report) == [hint]


# ---- optional fields -----------------------------------------------------------------------


def test_an_optional_field_used_bare_says_how_to_read_it() -> None:
    report = report_of(rule("item.ltv > 100"))
    assert codes(report) == ["E313"]
    assert underlined(report) == ["item.ltv"]
    assert helps(report) == ["write `item.ltv ?? DEFAULT`, or test `item.ltv is present` first"]


@pytest.mark.parametrize(
    "when",
    [
        "(item.ltv ?? 0) > 100",
        "item.ltv is present and item.ltv > 100",
        "item.ltv is present and (item.ltv > 100 or item.ltv < 0)",
        "(if item.ltv is present then item.ltv else 0) > 100",
    ],
)
def test_an_optional_field_with_a_default_or_a_test_checks(when: str) -> None:
    compiled = rulelang.open_source(HEAD + rule(when), allow_unbound=True)
    assert compiled.decide(facts()).fired == ()  # missing: the default, or the test, holds
    assert compiled.decide(facts(ltv="500")).fired == ("r",)


def test_the_presence_test_must_come_first() -> None:
    report = report_of(rule("item.ltv > 100 and item.ltv is present"))
    assert codes(report) == ["E313"]


# ---- models -------------------------------------------------------------------------------

RISK = "model risk(item) -> score\nend\n"
SIM = "model sim(text) -> number\n  fallback 0\nend\n"


def test_a_model_that_is_not_declared() -> None:
    report = report_of(rule("credit(item) > 0.5"))
    assert underlined(report) == ["credit(item)"]
    assert helps(report) == ["declare it: `model credit(...) -> score ... end`"]


def test_an_unused_model() -> None:
    report = report_of(SIM + rule("item.vip"))
    assert codes(report) == ["E208"]
    assert underlined(report) == ["model sim(text) -> number"]
    assert helps(report) == ["remove the declaration or use it in a rule"]


@pytest.mark.parametrize(
    ("option", "code", "under", "hint"),
    [
        ("fallback 2", "E207", "2", "a score lies between 0 and 1"),
        (
            "timeout 0 ms",
            "E209",
            "model risk(item) -> score",
            "leave `timeout` out to let the model take as long as it needs",
        ),
    ],
)
def test_model_options_out_of_range(option: str, code: str, under: str, hint: str) -> None:
    model = f"model risk(item) -> score\n  {option}\nend\n\n"
    report = report_of(model + rule("risk(item) > 0.5", "rank = 2.0\n  if unknown then rank = 0.0"))
    assert codes(report) == [code]
    assert underlined(report) == [under]
    assert helps(report) == [hint]


def test_a_model_without_fallback_needs_an_if_unknown_branch() -> None:
    report = report_of(RISK + rule("item.vip and risk(item) > 0.5"))
    assert codes(report) == ["E301"]
    assert underlined(report) == ["item.vip and risk(item) > 0.5"]
    assert "model risk may have no answer" in report
    assert helps(report) == [
        "add `if unknown then ...` to the rule, or give the model a `fallback`"
    ]


@pytest.mark.parametrize(
    "body",
    [
        'rule r\n  when risk(item) > 0.5\n  then block "x"\n  if unknown then review "y"\nend\n',
        'rule r\n  when (risk(item) ?? 0) > 0.5\n  then block "x"\nend\n',
    ],
)
def test_an_unknown_model_answer_that_is_handled_checks(body: str) -> None:
    compiled = rulelang.open_source(HEAD + RISK + body, allow_unbound=True)
    assert compiled.decide(facts(), replace_models={"risk": 0.9}).action == "block"
    assert compiled.decide(facts(), replace_models={"risk": None}).action != "block"


def test_a_model_with_a_fallback_is_never_unknown() -> None:
    compiled = rulelang.open_source(HEAD + SIM + rule('sim("a") > -1'), allow_unbound=True)
    assert compiled.decide(facts(), replace_models={"sim": None}).fired == ("r",)  # fallback 0


def test_an_unknown_model_answer_cannot_be_stored() -> None:
    report = report_of(RISK + rule("item.vip", "rank = risk(item)"))
    assert underlined(report) == ["risk(item)"]
    assert helps(report) == ["give a default with `??`, e.g. `score(x) ?? 0`"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('ensure e\n  sim("a") < 1\n  otherwise rank = 1\nend\n', "constraints"),
        ('test "t"\n  expect sim("a") < 1\nend\n', "tests"),
        ('decision\n  later: number = sim("a")\nend\n', "starting values"),
    ],
)
def test_models_are_called_only_in_rules(body: str, where: str) -> None:
    report = report_of(SIM + rule('sim("b") > 0') + body)
    assert codes(report) == ["E315"]
    assert underlined(report) == ['sim("a")']
    assert f"models cannot be called in {where}" in report


# ---- duplicates and dead rules -------------------------------------------------------------


def test_duplicate_rule_names_point_at_the_second_and_name_the_first() -> None:
    report = report_of(rule("item.vip") + rule("item.stock > 1"))
    assert codes(report) == ["E202"]
    assert underlined(report) == ["r"]
    first = HEAD.count("\n") + 1
    assert helps(report) == [f"first defined at line {first}; names must be unique"]


def test_a_constraint_shares_the_rules_namespace() -> None:
    report = report_of(rule("item.vip") + "ensure r\n  out >= 0\n  otherwise out = 0\nend\n")
    assert codes(report) == ["E202"]


@pytest.mark.parametrize(
    "when", ["false", "1 > 2", "10% > 50%", "2 - 2 > 0 or false", "not true", "1 in 2 .. 3"]
)
def test_a_constant_false_condition_can_never_fire(when: str) -> None:
    report = report_of(rule(when))
    assert codes(report) == ["E302"]
    assert underlined(report) == [when]
    assert "rule `r` can never fire: its condition is always false" in report


def test_a_constant_true_condition_is_allowed() -> None:
    compiled = rulelang.open_source(
        HEAD + rule("true") + rule("1 < 2").replace("rule r", "rule s"), allow_unbound=True
    )
    assert compiled.decide(facts()).fired == ("r", "s")


# ---- every error at once, sorted ------------------------------------------------------------


def test_every_error_is_reported_at_once_in_file_order() -> None:
    # The checker visits outputs, rules, constraints, tests and unused models in that
    # order; the report is in the order of the file.
    body = (
        RISK + 'test "first"\n  given item.stok = 1\nend\n'
        "ensure e\n  out >= item.cots\n  otherwise out = 0\nend\n"
        + rule("item.vip", "rank = item.price")
        + "decision\n  extra: number = item.scroe\nend\n"
    )
    err = error_of(HEAD + body)
    lines = [d.span.line for d in err.diagnostics if d.span is not None]
    assert lines == sorted(lines)
    report = str(err)
    assert underlined(report) == [
        "model risk(item) -> score",
        "item.stok",
        "item.cots",
        "item.price",
        "item.scroe",
    ]
    assert report.endswith("\n\n5 errors")


def test_one_mistake_is_reported_once() -> None:
    report = report_of(rule("(item.stok + 1) * 2 > item.stok"))
    assert underlined(report) == ["item.stok", "item.stok"]  # once per place, no cascade


def test_a_wrong_template_argument_is_reported_at_the_use() -> None:
    body = 'import "pricing"\nuse margin_floor(out, item.score, 10%) as floor\n'
    report = report_of(body)
    assert underlined(report) == ["item.score"]  # not the template's body it breaks
    assert "`cost` of `margin_floor` expects money, got number" in report
    assert helps(report) == ["convert with money(...)"]


def test_an_unknown_template_is_a_parse_error_before_checking() -> None:
    err = error_of(HEAD + 'import "pricing"\nuse margin_flor(out, item.cost, 10%) as f\n')
    assert isinstance(err, ParseError)
    assert helps(str(err)) == ["did you mean `margin_floor`?"]


# ---- a policy that checks never fails at run time with a type error ---------------------------


def test_the_repository_policies_check() -> None:
    root = GOLDEN.parent.parent
    paths = [*root.glob("examples/*/policy.rule"), *root.glob("stdlib_rules/tests/*.rule")]
    assert paths
    for path in paths:
        assert (
            rulelang.open_policy(path, bindings=False, allow_unbound=True).policy.rules
            or path.parent.name == "tests"
        )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated=policies(), data=st.data())
def test_a_policy_that_checks_decides_without_type_errors(
    generated: Any, data: st.DataObject
) -> None:
    # The differential test (test_interpreter.py) runs many more; this one pins the
    # checker's promise itself: for valid input, `decide` raises nothing (a TypeError
    # would surface as a FactError) and fails only with a value error, such as a
    # division by zero, recorded in the decision.
    note(generated.source)
    try:
        compiled = rulelang.open_source(generated.source, allow_unbound=True)
    except RuleError as exc:
        pytest.fail(f"a generated well-typed policy does not check:\n{exc}")
    for _ in range(3):
        decision = compiled.decide(data.draw(facts_for(compiled.policy)), explain=True)
        if decision.error is not None:
            assert decision.error["type"] == "evaluation", decision.error
            assert decision.action == "block"


def _grammar_words() -> list[str]:
    from rulelang.parser import _lark

    return sorted(
        {
            t.pattern.value
            for t in _lark().terminals
            if t.pattern.type == "str" and t.pattern.value.isidentifier()
        }
    )


def _usable_as_output(word: str) -> bool:
    body = (
        f"facts item\n  x: number\nend\n\ndecision\n  {word}: number = 1.0\nend\n\n"
        f"rule a\n  when {word} > 1 and item.x > 0\n  then {word} = {word} + 1.0\nend\n"
    )
    try:
        rulelang.open_source('policy p\n  version "1"\nend\n\n' + body)
    except RuleError:
        return False
    return True


def test_the_reserved_words_are_exactly_those_the_grammar_cannot_read_as_names() -> None:
    from rulelang.checker import RESERVED

    unusable = {w for w in _grammar_words() if not _usable_as_output(w)}
    assert unusable == RESERVED


def test_a_reserved_word_cannot_name_an_output_a_facts_block_or_a_model() -> None:
    text = (
        'policy p\n  version "1"\nend\n\nfacts block\n  x: number\nend\n\n'
        "model review(block) -> number\n  fallback 0\nend\n\n"
        "decision\n  boost: number = 1.0\nend\n"
    )
    report = str(error_of(text))
    assert sorted(codes(report)) == ["E208", "E210", "E210", "E210"]  # E208: `review` unused
    renames = [h for h in helps(report) if h.startswith("rename it")]
    assert renames == [
        "rename it, for example `block_facts`",
        "rename it, for example `review_model`",
        "rename it, for example `boost_out`",
    ]
