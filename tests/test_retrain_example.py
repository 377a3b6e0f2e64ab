"""examples/fraud/retrain_from_labels.py: decide with a log, review, export labels, train.

The script is run as a user runs it (a subprocess in an empty directory, its work
directory under tmp_path); the tests read back what it leaves: the label table, the log
and the model file, and that it left nothing anywhere else.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from conftest import REPO, run_python

lgb = pytest.importorskip("lightgbm")
pytest.importorskip("numpy")

FRAUD = REPO / "examples" / "fraud"
SCRIPT = FRAUD / "retrain_from_labels.py"
ANALYSTS = {"alice", "bilal", "chen"}
EXPECTED = [
    "decision_id", "txn.amount", "txn.country", "txn.card_present", "account.age_days",
    "model.fraud_score.value", "model.fraud_score.confidence", "policy.action", "label.action",
    "label.step_up", "routed_to_review", "outcome", "person", "role",
]  # fmt: skip
# Over 10,000 a payment is never simply allowed (ensure large_payments_checked), so an
# analyst who lets this genuine one through is refused by the policy.
LARGE = {
    "txn": {"amount": 20000.0, "country": "FR", "card_present": False, "hour": 14,
            "merchant_category": "grocery"},
    "account": {"age_days": 10, "chargebacks": 0, "avg_amount": 15000.0},
}  # fmt: skip


def run_script(tmp_path: Path, *args: str | Path) -> str:
    """Run the script from an empty directory under ``tmp_path``, which it must leave empty."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    done = run_python(SCRIPT, *map(str, args), cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(cwd.iterdir()) == []
    return done.stdout


def files_of(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file directly in ``folder``: its size and modification time."""
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()
    }


def figure(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in:\n{text}"
    return int(found.group(1))


def read_labels(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or ()), list(reader)


def encode(rows: list[dict[str, str]], features: list[dict]) -> list[list[float]]:
    """The rows as the sidecar says the model reads them (independent of the script)."""

    def cell(text: str, f: dict) -> float:
        if text == "":
            return math.nan
        if f["kind"] == "bool":
            return float(text == "true")
        if f["kind"] == "category":
            return float(f["levels"].index(text)) if text in f["levels"] else math.nan
        return float(text)

    return [[cell(row[f["column"]], f) for f in features] for row in rows]


def test_end_to_end_labels_and_model(tmp_path: Path) -> None:
    before = files_of(FRAUD)
    work = tmp_path / "work"
    out = run_script(tmp_path, "--workdir", work, "--transactions", "6000", "--seed", "7")

    decided = figure(r"decided (\d+) ", out)
    queued = figure(r"review (\d+), block", out)
    reviewed = figure(r"reviewed: (\d+) queued decisions", out)
    approved = figure(r"approved (\d+),", out)
    overridden = figure(r"overridden (\d+) ", out)
    label_rows = figure(r"label rows: (\d+)", out)
    assert decided == 6000
    assert reviewed == queued == approved + overridden == label_rows > 40
    assert figure(r"wrote (\d+) labelled decisions", out) == label_rows

    columns, rows = read_labels(work / "labels.csv")
    assert [c for c in EXPECTED if c not in columns] == []
    assert len(rows) == reviewed
    assert {r["person"] for r in rows} <= ANALYSTS
    assert {r["role"] for r in rows} == {"loss_prevention"}
    assert {r["routed_to_review"] for r in rows} == {"true"}
    assert {r["policy.action"] for r in rows} == {"review"}
    assert {r["label.action"] for r in rows} <= {"allow", "block", "review"}
    assert sum(r["outcome"] == "approved" for r in rows) == approved
    # An override shows in the label; an approval keeps the policy's action.
    for row in rows:
        assert (row["label.action"] == "review") == (row["outcome"] == "approved")

    model = work / "retrained_model.txt"
    sidecar = json.loads((work / "retrained_model.json").read_text(encoding="utf-8"))
    booster = lgb.Booster(model_file=str(model))
    features = sidecar["features"]
    assert booster.feature_name() == [f["column"] for f in features]
    assert {"model.fraud_score.value", "routed_to_review", "txn.amount"} <= set(
        booster.feature_name()
    )
    scores = booster.predict(encode(rows, features))
    assert len(scores) == len(rows)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len({round(float(s), 6) for s in scores}) > 1  # it learned something
    accuracy = float(re.search(r"held-out accuracy: ([0-9.]+)", out).group(1))
    assert accuracy == pytest.approx(sidecar["figures"]["held_out_accuracy"], abs=5e-4)
    assert 0.0 <= accuracy <= 1.0

    # Everything lands in the workdir: nothing in the example's folder, nothing in the
    # working directory (run_script), whatever else a user left in the clone.
    assert {"labels.csv", "log.sqlite", "retrained_model.txt", "decisions.jsonl"} <= {
        p.name for p in work.iterdir()
    }
    assert files_of(FRAUD) == before


def test_refused_override_is_counted_and_logged(tmp_path: Path) -> None:
    facts = tmp_path / "facts.jsonl"
    lines = (FRAUD / "facts.jsonl").read_text(encoding="utf-8")
    facts.write_text(lines + json.dumps(LARGE) + "\n", encoding="utf-8")
    work = tmp_path / "work"
    out = run_script(tmp_path, "--workdir", work, "--facts", facts)

    assert figure(r"refused (\d+)", out) == 1
    assert facts.read_text(encoding="utf-8").count("\n") == 2001  # --facts is left alone
    from rulelang.store import open_log

    with open_log(work / "log.sqlite", create=False) as log:
        refused = [e for e in log.reviews() if e.kind == "refused"]
        assert len(refused) == 1
        assert "large_payments_checked" in refused[0].message
        decision = log.require(refused[0].decision_id)
        assert float(decision.facts["txn"]["amount"]) == 20000.0
    _, rows = read_labels(work / "labels.csv")
    row = next(r for r in rows if r["decision_id"] == refused[0].decision_id)
    assert (row["outcome"], row["label.action"]) == ("approved", "review")
    assert figure(r"label rows: (\d+)", out) == len(rows) == figure(r"reviewed: (\d+)", out)
