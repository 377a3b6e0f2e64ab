"""The one way in (rulelang.app): binding rules, load-time binding checks, entry points."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import rulelang
from rulelang.models.base import Answer

ROOT = Path(__file__).resolve().parent.parent

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


def test_python_dash_m_rulelang_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rulelang", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"rulelang {rulelang.__version__}")
    done = subprocess.run(
        [sys.executable, "-m", "rulelang", "explain", "nope.jsonl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("rulelang: ")
    assert "Traceback" not in done.stderr
