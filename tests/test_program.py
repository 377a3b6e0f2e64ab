"""Stages 5 and 6: codegen and program (IR -> Python source -> CompiledPolicy -> Decision).

What a user relies on: nothing a `.rule` file says becomes code; the generated source
can be read (linecache, `rulelang explain --source`); decisions follow LANGUAGE.md's
evaluation order exactly; models are called as the spec says and every call is in
the trace; the decision record has the documented shape (golden files).
"""

from __future__ import annotations

import ast
import json
import linecache
import re
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    GOLDEN,
    HEAD,
    RECORD_KEYS,
    RETAIL,
    Recorder,
    assert_golden,
    exact,
    facts,
    retail_facts,
    retail_models,
)

import rulelang
from rulelang.cli import main
from rulelang.decision import DecisionRecord
from rulelang.review.testing import run_tests

HOSTILE = ("__import__('os')", '"); import os #', "'''; exit(1) #", "' + str(facts) + '")


def q(text: str) -> str:
    """A `.rule` string literal for any text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load(body: str, head: str = HEAD, **models: Any) -> rulelang.CompiledPolicy:
    return rulelang.open_source(head + body, name="t.rule", models=models)


def code_filename(policy: rulelang.CompiledPolicy) -> str:
    """The file name the generated code was compiled under (what tracebacks show)."""
    filename: str = policy._decide.__code__.co_filename
    return filename


# ---- generated code is boring and safe ----------------------------------------------------


def hostile_policy() -> str:
    h1, h2, h3, h4 = (q(h) for h in HOSTILE)
    head = HEAD.replace(
        'category: text in {"bags", "shoes"}',
        f'category: text in {{"bags", {h1}, {h2}, {h3}, {h4}}}',
    )
    head = head.replace('version "1"', f"version {h2}\n  title {h1}\n  owner {h3}")
    return (
        head
        + f"""
rule first {h1}
  when item.category == {h1}
  then review {h2} by boss
end

rule second {h2}
  when item.category in {{{h2}, {h3}}}
  then block {h1}
end

rule third {h3}
  when item.category == {h4}
  then review {h4}
end

ensure keep {h4}
  out >= 0
  otherwise out = 0
end

test {q(HOSTILE[0] + " " + HOSTILE[1])}
  given item.category = {h1}
  expect action == review and review_by == "boss"
end

test {h3}
  given item.category = {h2}
  expect action == block
  expect fired second
end
"""
    )


def test_generated_source_holds_no_user_text() -> None:
    policy = rulelang.open_source(hostile_policy(), name="hostile.rule")
    for text in HOSTILE:
        assert text not in policy.source
        assert repr(text) not in policy.source
    assert "import" not in policy.source and "exit" not in policy.source


def test_generated_source_uses_only_minted_names() -> None:
    """Every identifier and string literal in the generated code is the generator's own."""
    policy = rulelang.open_source(hostile_policy(), name="hostile.rule")
    tree = ast.parse(policy.source)
    minted = re.compile(r"[CFVOt]\d+")
    own = {
        "bind",
        "decide",
        "explain",
        "facts",
        "frame",
        "A",
        "RB",
        "reasons",
        "fired",
        "fire",
        "trace",
        "record",
        "c",
        "v",
        "ch",
        "a0",
        "div",
        "round_half_up",
        "to_money",
        "Firing",
        "tnew",
        "NOCHANGE",
        "float",
        "abs",
        "min",
        "max",
    }
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    assert {n for n in names if not minted.fullmatch(n)} <= own
    strings = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert strings <= {
        "",
        "fired",
        "skipped",
        "unknown",
        "held",
        "unsatisfiable",
        "rule",
        "ensure",
        "action",
    }
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_hostile_text_still_decides_correctly() -> None:
    policy = rulelang.open_source(hostile_policy(), name="hostile.rule")
    h1, h2, h3, h4 = HOSTILE
    review = policy.decide(facts(category=h1))
    assert (review.action, review.reasons, review.review_by) == ("review", (h2,), "boss")
    for category in (h2, h3):
        block = policy.decide(facts(category=category))
        assert (block.action, block.reasons, block.fired) == ("block", (h1,), ("second",))
    assert policy.decide(facts(category=h4)).reasons == (h4,)
    assert policy.decide(facts(category="bags")).action == "allow"
    assert policy.version == h2
    results = run_tests(policy)
    assert [r.name for r in results] == [f"{h1} {h2}", h3]
    assert all(r.passed for r in results), [r.failures for r in results]


def test_source_is_registered_in_linecache() -> None:
    policy = load('rule r\n  when item.stock == 0\n  then block "none left"\nend\n')
    filename = code_filename(policy)
    assert filename.startswith("<rulelang p ")
    assert linecache.getlines(filename) == policy.source.splitlines(True)
    line = next(i for i, t in enumerate(policy.source.splitlines(), 1) if "# rule r" in t)
    assert linecache.getline(filename, line).strip() == "# rule r (line 20)"


def test_each_generated_source_has_its_own_linecache_name() -> None:
    one = load('rule r\n  when item.stock == 0\n  then block "none left"\nend\n')
    two = load('rule r\n  when item.stock == 1\n  then block "one left"\nend\n')
    again = load('rule r\n  when item.stock == 0\n  then block "none left"\nend\n')
    assert code_filename(one) != code_filename(two)
    assert code_filename(one) == code_filename(again)  # same code, same lines: no leak
    for policy in (one, two):
        assert linecache.getlines(code_filename(policy)) == policy.source.splitlines(True)


def test_same_text_importing_different_templates_keeps_both_sources(tmp_path: Path) -> None:
    """One `.rule` text beside two different `./lib.rule`: two programs, two sources."""
    text = HEAD + 'import "./lib.rule"\nuse cap(out) as cap\n'
    policies = []
    for limit in (10, 20):
        folder = tmp_path / f"cap{limit}"
        folder.mkdir()
        (folder / "lib.rule").write_text(
            f"template cap(x: money)\n  ensure cap\n    x <= {limit}"
            f" and x >= 0\n    otherwise x = {limit}\n  end\nend\n"
        )
        (folder / "p.rule").write_text(text)
        policies.append(rulelang.open_policy(folder / "p.rule"))
    assert [p.decide(facts()).outputs["out"] for p in policies] == [10, 20]
    for policy in policies:
        assert linecache.getlines(code_filename(policy)) == policy.source.splitlines(True)


def test_explain_source_prints_the_generated_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", "--source", str(RETAIL)]) == 0
    printed = capsys.readouterr().out
    assert printed == rulelang.open_policy(RETAIL, models=retail_models()).source
    assert "def decide(facts, frame):" in printed and "# rule fraud_review" in printed


def test_an_evaluation_error_blocks_and_names_its_rule() -> None:
    policy = load(
        "rule per_unit\n  when item.stock >= 0\n  then out = item.price / item.stock\nend\n"
    )
    decision = policy.decide(facts(stock=0))
    assert decision.action == "block" and decision.fired == ()
    assert decision.error == {
        "type": "evaluation",
        "message": "division by zero",
        "rule": "per_unit",
    }
    assert decision.reasons == ("evaluation error in per_unit: division by zero",)
    assert policy.decide(facts(stock=4)).outputs["out"] == Decimal(25)
    explained = policy.decide(facts(stock=0), explain=True)  # the other function, same map
    assert explained.error == decision.error


def test_the_explain_path_is_compiled_once_on_first_use() -> None:
    # Compiling the explain function costs three times the fast one: loading skips it.
    policy = load("rule r\n  when item.vip\n  then rank = 2.0\nend\n")
    assert policy._explain_fn is None
    with ThreadPoolExecutor(4) as pool:
        first = list(pool.map(lambda _: policy._explain(), range(8)))
    assert all(fn is first[0] for fn in first)
    decision = policy.decide(facts(vip=True), explain=True)
    assert decision.trace[0].changes == {"rank": [1.0, 2.0]}
    assert linecache.getlines(code_filename(policy)) == policy.source.splitlines(True)


# ---- evaluation order ---------------------------------------------------------------------

ORDER = """
rule a
  when true
  then rank = rank * 10 + 1
end

rule b
  priority 5
  when true
  then rank = rank * 10 + 2
end

rule c
  priority 5
  when true
  then rank = rank * 10 + 3
end

rule d
  priority -1
  when true
  then rank = rank * 10 + 4
end

rule e
  priority 100
  when true
  then rank = 0.0
end
"""


def test_rules_run_by_priority_then_file_order() -> None:
    decision = load(ORDER).decide(facts())
    assert decision.fired == ("e", "b", "c", "a", "d")
    assert decision.outputs["rank"] == 2314.0


def test_each_rule_sees_the_outputs_as_earlier_rules_left_them() -> None:
    policy = load("""
rule reads_before
  priority 10
  when out == 10
  then rank = 2.0
end

rule sets
  priority 5
  when true
  then out = 10
end

rule reads_after
  when out == 10
  then out = out + 1, rank = rank + 1
end
""")
    decision = policy.decide(facts())
    assert decision.fired == ("sets", "reads_after")
    assert decision.outputs == {"out": Decimal(11), "rank": 2.0}


def test_block_and_review_only_raise_the_action() -> None:
    policy = load("""
rule blocks
  priority 10
  when item.vip
  then block "vip is blocked"
end

rule reviews
  when true
  then review "everyone is reviewed" by first_role
end

rule reviews_again
  when true
  then review "twice" by second_role
end
""")
    blocked = policy.decide(facts(vip=True))
    assert blocked.action == "block"
    assert blocked.reasons == ("vip is blocked", "everyone is reviewed", "twice")
    assert blocked.review_by == "first_role"  # the first role named wins
    reviewed = policy.decide(facts(vip=False))
    assert (reviewed.action, reviewed.review_by) == ("review", "first_role")


def test_a_review_before_a_block_gives_the_same_action() -> None:
    policy = load("""
rule reviews
  priority 10
  when true
  then review "first"
end

rule blocks
  when true
  then block "second"
end
""")
    assert policy.decide(facts()).action == "block"


def test_ensure_runs_after_all_rules_whatever_its_place() -> None:
    policy = load("""
ensure floor "out keeps a margin over cost"
  out >= item.cost * 110%
  otherwise out = item.cost * 110%
end

rule undercut
  when item.vip
  then out = item.cost
end
""")
    decision = policy.decide(facts(vip=True, cost="50.00"), explain=True)
    assert decision.fired == ("undercut", "floor")
    assert decision.outputs["out"] == Decimal("55.00")
    assert [(f.rule, f.outcome, f.kind) for f in decision.trace] == [
        ("undercut", "fired", "rule"),
        ("floor", "fired", "ensure"),
    ]
    untouched = policy.decide(facts(vip=False))
    assert (untouched.fired, untouched.outputs["out"]) == ((), Decimal("100.00"))


CONFLICT = """
ensure at_most_50 "out is at most 50"
  out <= 50
  otherwise out = 50
end

ensure at_least_60 "out is at least 60"
  out >= 60
  otherwise out = 60
end
"""


def test_conflicting_constraints_give_a_fail_safe_block() -> None:
    policy = load(CONFLICT)
    decision = policy.decide(facts(price="100.00"), explain=True)
    assert decision.action == "block"
    assert decision.reasons == ("constraint at_most_50 could not be satisfied",)
    assert decision.fired == ("at_most_50", "at_least_60")
    assert decision.trace[-1][:3] == ("at_most_50", 21, "unsatisfiable")
    assert policy.decide(facts(price="100.00")).reasons == decision.reasons


def test_constraints_that_can_both_hold_do_not_block() -> None:
    policy = load(CONFLICT.replace("out <= 50", "out <= 70").replace("out = 50", "out = 70"))
    for price, out in (("100.00", 70), ("10.00", 60), ("65.00", Decimal("65.00"))):
        decision = policy.decide(facts(price=price))
        assert (decision.action, decision.outputs["out"]) == ("allow", out)


def test_money_and_percent_arithmetic_is_exact() -> None:
    policy = load("""
rule literal
  when 0.45 - 0.15 == 0.30
  then out = item.price - item.cost
end

rule percent
  when item.discount - 15% == 30%
  then rank = 2.0
end
""")
    decision = policy.decide(facts(price="0.45", cost="0.15", discount="0.45"))
    assert decision.fired == ("literal", "percent")
    assert exact(decision.outputs["out"]) == exact(Decimal("0.30"))
    # Floats read from JSON become the decimal they were written as.
    assert policy.decide(facts(price=0.45, cost=0.15)).outputs["out"] == Decimal("0.30")


# ---- models -------------------------------------------------------------------------------

SCORE = """
model risk(item) -> score
  min_confidence 80%
  timeout 50 ms
end
"""


def test_each_model_is_called_once_per_decision_and_arguments() -> None:
    risk, sim = Recorder((0.9, 0.95)), Recorder(0.5)
    policy = load(
        SCORE
        + """
model sim(text, text) -> number
  fallback 0
end

rule one
  when risk(item) > 0.5 and sim(item.category, "bags") > 0.1
  then rank = rank + 1
  if unknown then review "no risk"
end

rule two
  when risk(item) > 0.8 or sim(item.category, "shoes") > 0.1
  then rank = rank + 1
  if unknown then review "no risk"
end

rule three
  when sim(item.category, "bags") > 0.1
  then rank = rank + 1
end
""",
        risk=risk,
        sim=sim,
    )
    decision = policy.decide(facts())
    assert decision.outputs["rank"] == 4.0
    assert len(risk.calls) == 1  # `two` short-circuits: sim(_, "shoes") is never asked
    assert sim.calls == [("bags", "bags")]
    assert [(c.model, c.args) for c in decision.models] == [
        ("risk", "item"),
        ("sim", "'bags', 'bags'"),
    ]
    policy.decide(facts())
    assert len(risk.calls) == 2  # the memo is per decision


def test_a_model_is_not_asked_when_it_cannot_change_the_outcome() -> None:
    risk = Recorder((0.9, 0.95))
    policy = load(
        SCORE
        + """
rule vip_risk
  when item.vip and risk(item) > 0.5
  then block "risky vip"
  if unknown then review "no risk"
end
""",
        risk=risk,
    )
    assert policy.decide(facts(vip=False)).models == ()
    assert risk.calls == []
    assert policy.decide(facts(vip=True)).action == "block"
    assert len(risk.calls) == 1


UNKNOWN_RULE = (
    SCORE
    + """
rule risky
  when risk(item) >= 0.5
  then block "risky"
  if unknown then review "no confident risk" by ops
end
"""
)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((0.9, 0.5), "low confidence"),
        ((0.9, None), "no confidence given"),
        (float("nan"), "NaN"),
        ((float("nan"), 0.99), "NaN"),
        ((1.5, 0.99), "out of range"),
        (("high", 0.99), "not a number: str"),
        (None, "no answer"),
    ],
)
def test_no_answer_runs_if_unknown_and_is_recorded(answer: Any, reason: str) -> None:
    policy = load(UNKNOWN_RULE, risk=Recorder(answer))
    decision = policy.decide(facts(), explain=True)
    assert (decision.action, decision.reasons, decision.review_by) == (
        "review",
        ("no confident risk",),
        "ops",
    )
    assert decision.fired == ()  # an `if unknown` branch is not a firing
    assert decision.trace[0][:3] == ("risky", 26, "unknown")
    [call] = decision.models
    assert (call.model, call.value, call.source, call.reason) == ("risk", None, "none", reason)


def test_a_confident_answer_is_used_and_recorded() -> None:
    policy = load(UNKNOWN_RULE, risk=Recorder((0.8, 0.8), version="risk-7"))
    decision = policy.decide(facts())
    assert (decision.action, decision.fired) == ("block", ("risky",))
    [call] = decision.models
    assert (call.model, call.version, call.value, call.confidence, call.source, call.reason) == (
        "risk",
        "risk-7",
        0.8,
        0.8,
        "model",
        None,
    )
    assert call.ms >= 0


def test_a_raising_model_is_no_answer_not_a_crash() -> None:
    def broken(item: Any) -> float:
        raise RuntimeError("model server down")

    decision = load(UNKNOWN_RULE, risk=Recorder(fn=broken)).decide(facts())
    assert decision.action == "review" and decision.error is None
    assert decision.models[0].reason == "error: RuntimeError: model server down"


def test_a_slow_model_times_out() -> None:
    def slow(item: Any) -> tuple[float, float]:
        time.sleep(0.3)
        return 0.99, 0.99

    policy = load(UNKNOWN_RULE.replace("timeout 50 ms", "timeout 20 ms"), risk=Recorder(fn=slow))
    start = time.perf_counter()
    decision = policy.decide(facts())
    assert time.perf_counter() - start < 0.25  # the decision did not wait for the model
    assert decision.action == "review"
    [call] = decision.models
    assert (call.source, call.reason, call.value) == ("none", "timeout", None)


def test_fallback_replaces_no_answer_and_is_recorded() -> None:
    def slow(text: str) -> float:
        time.sleep(0.3)
        return 0.9

    body = """
model sim(text) -> number
  timeout 20 ms
  fallback 0.25
end

rule similar
  when sim(item.category) > 0.2
  then rank = 2.0
end
"""
    for model, reason in (
        (Recorder(fn=slow), "timeout"),
        (Recorder(float("nan")), "NaN"),
        (Recorder(fn=lambda t: 1 / 0), "error: ZeroDivisionError: division by zero"),
    ):
        decision = load(body, sim=model).decide(facts(), explain=True)
        assert (decision.fired, decision.outputs["rank"]) == (("similar",), 2.0)
        [call] = decision.models
        assert (call.value, call.source, call.reason) == (0.25, "fallback", reason)
        assert decision.trace[0].values == {"item.category": "bags", "sim(item.category)": 0.25}


def test_a_policy_with_unbound_models_fails_to_load_naming_every_one() -> None:
    body = (
        SCORE
        + """
model sim(text) -> number
  fallback 0
end

model flag(item) -> bool
  fallback false
end

rule r
  when risk(item) > 0.5 and sim(item.category) > 0.5 and flag(item)
  then rank = 2.0
  if unknown then review "no risk"
end
"""
    )
    with pytest.raises(rulelang.ModelBindingFailed) as info:
        load(body, sim=Recorder(0.1))
    report = str(info.value)
    assert "model `risk` is not bound" in report and "model `flag` is not bound" in report
    assert "`sim`" not in report
    assert "t.rule:21:1: error[E401]" in report and "2 errors" in report
    assert "Traceback" not in report


def test_binding_a_model_the_policy_does_not_declare_fails() -> None:
    with pytest.raises(rulelang.ModelBindingFailed) as info:
        load("", fraud=Recorder(0.1))
    assert str(info.value) == (
        "error[E402]: `fraud` is bound but the policy declares no such "
        "model\n  = help: declared models: none"
    )


# ---- fast path and explain path -----------------------------------------------------------


def test_fast_path_records_only_the_rules_that_fired(retail: rulelang.CompiledPolicy) -> None:
    vic = retail_facts(new_collection=True)
    vic["customer"] = {"tier": "vic"}
    decision = retail.decide(vic)
    assert decision.fired == ("vic_new_collection",)
    assert decision.trace == ()
    assert decision.to_dict()["trace"] == []


def test_explain_path_records_values_and_changes(retail: rulelang.CompiledPolicy) -> None:
    vic = retail_facts(new_collection=True)
    vic["customer"] = {"tier": "vic"}
    decision = retail.decide(vic, explain=True)
    assert decision.fired == ("vic_new_collection",)
    trace = {f.rule: f for f in decision.trace}
    assert list(trace) == [
        "out_of_stock",
        "discount_cap",
        "vic_new_collection",
        "evening_wear",
        "fraud_block",
        "fraud_review",
        "margin_floor",
    ]
    boosted = trace["vic_new_collection"]
    assert (boosted.line, boosted.outcome) == (53, "fired")
    assert boosted.values == {"customer.tier": "vic", "item.new_collection": True}
    assert boosted.changes == {"rank": [1.0, 1.15]}
    assert trace["out_of_stock"].outcome == "skipped"
    assert trace["out_of_stock"].values == {"item.stock": 12}
    assert trace["fraud_review"].values == {"fraud_risk(customer, order, item)": 0.1}
    assert (trace["margin_floor"].outcome, trace["margin_floor"].kind) == ("held", "ensure")
    fast = retail.decide(vic)
    assert (fast.outputs, fast.action, fast.fired) == (
        decision.outputs,
        decision.action,
        decision.fired,
    )


def test_explain_records_an_action_change() -> None:
    decision = load('rule r\n  when true\n  then review "look" by ops\nend\n').decide(
        facts(), explain=True
    )
    assert decision.trace[0].changes == {"action": ["allow", "review"]}


def test_explain_shows_each_call_of_a_model_with_its_own_answer() -> None:
    # One model, two argument lists in one condition: each call text keeps its answer.
    body = (
        "model sim(number) -> number\n  fallback 0\nend\n\n"
        "rule both\n  when sim(item.score) > 1 and sim(item.score + 1) > 1\n"
        "  then rank = 2.0\nend\n"
    )
    policy = load(body, sim=Recorder(fn=lambda v: v * 10))
    decision = policy.decide(facts(score=1.0), explain=True)
    values = decision.trace[0].values
    assert values["sim(item.score)"] == 10.0 and values["sim(item.score + 1)"] == 20.0


def test_decide_many_decides_each_row_as_decide_does() -> None:
    risk = Recorder(fn=lambda item: (float(item["score"]) / 10, 0.9))
    policy = load(UNKNOWN_RULE, risk=risk)
    rows = [facts(score=s) for s in (1.0, 6.0, 9.0)] + [facts(stock=-1)]
    many = list(policy.decide_many(rows, batch_size=10))
    assert risk.batches == [3]
    assert [d.action for d in many] == ["allow", "block", "block", "block"]
    assert many[-1].error is not None and many[-1].error["type"] == "bad_facts"
    for row, decision in zip(rows[:3], many, strict=False):
        single = policy.decide(row)
        assert (single.outputs, single.action, single.fired) == (
            decision.outputs,
            decision.action,
            decision.fired,
        )


# ---- the decision record ------------------------------------------------------------------


def normalised(decision: rulelang.Decision) -> str:
    """The record as JSON, with the fields that differ run to run made fixed."""
    record = json.loads(decision.to_json())
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", record["id"])  # a ULID
    record["id"] = "ID"
    for call in record["models"]:
        assert call["ms"] >= 0
        call["ms"] = 0
    return json.dumps(record, indent=2) + "\n"


def vic(**item: Any) -> dict[str, Any]:
    facts = retail_facts(new_collection=True, **item)
    facts["customer"] = {"tier": "vic", "lifetime_value": "250000.00"}
    return facts


GOLDEN_DECISIONS = {
    "allow": (retail_facts(), {}, False),
    "review_possible_fraud": (
        vic(description="silk evening gown"),
        {"fraud": (0.71, 0.93), "similarity": 0.8},
        True,
    ),
    "block_out_of_stock_no_confident_fraud": (vic(stock=0), {"fraud": (0.9, 0.5)}, True),
    "margin_floor": (retail_facts(cost="900.00"), {}, True),
    "discount_cap": (
        {**retail_facts(), "order": {"discount": "0.85", "channel": "app"}},
        {},
        False,
    ),
}


@pytest.mark.parametrize("name", GOLDEN_DECISIONS)
def test_decision_records_match_their_golden_files(name: str) -> None:
    facts, answers, explain = GOLDEN_DECISIONS[name]
    policy = rulelang.open_policy(RETAIL, models=retail_models(**answers))
    assert_golden(
        GOLDEN / "decisions" / f"{name}.json", normalised(policy.decide(facts, explain=explain))
    )


def test_bad_facts_record_matches_its_golden_file(retail: rulelang.CompiledPolicy) -> None:
    with pytest.raises(rulelang.FactError) as info:
        retail.decide(retail_facts(stock=-5, base_price="cheap"))
    assert_golden(GOLDEN / "decisions" / "bad_facts.json", normalised(retail.reject(info.value)))


def test_the_record_has_the_documented_shape(retail: rulelang.CompiledPolicy) -> None:
    record = json.loads(retail.decide(vic(), explain=True).to_json())
    assert tuple(record) == RECORD_KEYS
    assert (record["policy"], record["version"]) == ("retail_pricing", "2026.11.1")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", record["policy_hash"])
    assert record["action"] in ("allow", "review", "block")
    assert record["outputs"] == {"price": 900.0, "rank": 1.15}
    assert record["fired"] == ["vic_new_collection"] and record["error"] is None
    assert all(
        list(f)[:3] == ["rule", "line", "outcome"] and {"values", "changes"} <= set(f)
        for f in record["trace"]
    )
    assert all(
        list(c)[:6] == ["model", "version", "value", "confidence", "ms", "source"]
        for c in record["models"]
    )
    assert [c["model"] for c in record["models"]] == ["similarity", "fraud_risk"]


def test_to_dict_keeps_money_exact(retail: rulelang.CompiledPolicy) -> None:
    record = retail.decide(retail_facts(base_price="999.99")).to_dict()
    assert exact(record["outputs"]) == exact({"price": Decimal("899.9910"), "rank": 1.0})
    assert json.loads(retail.decide(retail_facts()).to_json())["outputs"]["price"] == 900.0


def test_decision_ids_are_unique(retail: rulelang.CompiledPolicy) -> None:
    ids = {retail.decide(retail_facts()).id for _ in range(200)}
    assert len(ids) == 200


def test_loading_leaves_the_garbage_collector_as_it_was() -> None:
    import gc

    body = "rule r\n  when item.vip\n  then rank = 2.0\nend\n"
    assert gc.isenabled()
    load(body)
    assert gc.isenabled()
    gc.disable()
    try:
        load(body)
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()


def test_generated_source_matches_its_golden_file() -> None:
    """The code generated for the retail policy is reviewed like code: any change to the
    back-end shows as a diff of this golden file (RULELANG_UPDATE_GOLDENS=1 rewrites it)."""
    text = RETAIL.read_text(encoding="utf-8")
    policy = rulelang.open_source(text, "policy.rule", allow_unbound=True)
    assert_golden(GOLDEN / "generated" / "retail.py.txt", policy.source)


def test_the_declared_record_type_has_the_documented_keys() -> None:
    """``DecisionRecord`` (what the store, explain and diff read) is the record decide writes."""
    assert tuple(DecisionRecord.__annotations__) == RECORD_KEYS
    assert DecisionRecord.__required_keys__ == frozenset(RECORD_KEYS)
