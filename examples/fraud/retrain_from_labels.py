"""Retrain a fraud model on reviewers' verdicts: decision log -> review queue -> labels -> LightGBM.

One command, end to end and offline:

    python examples/fraud/retrain_from_labels.py [--workdir DIR] [--seed N]

1. Writes 20,000 card transactions with the example's own generator (``gen_facts.py``,
   seed 11: the first 2,000 are ``facts.jsonl``) and runs the policy over them with
   the real command line, ``rulelang run policy.rule --facts ... --log DIR/log.sqlite``.
   ``--facts FILE`` decides a file of your own instead (``facts.jsonl`` alone queues
   only about 20 decisions: too few to hold any out).
2. Plays the reviewers. **The analysts and their verdicts are simulated**: a hidden
   "ground truth" rule (``fraud_probability`` below at 50 % or more is fraud, and a
   seeded draw turns 10 % of verdicts the other way) says whether each queued payment
   was fraud. It knows things the fraud score was never trained on (the country).
   Three named analysts with the role the policy grants (``override action by
   loss_prevention``) work the queue with ``ReviewDesk``:
   fraud is overridden to ``block``, a genuine payment to ``allow``, and a borderline
   one (truth 45 .. 55 %) is approved: the hold stands while the customer is asked.
   An override the policy refuses is recorded by the log and counted here; the
   analyst then approves the hold instead.
3. Exports the verdicts with the real command line:
   ``rulelang export-labels --log DIR/log.sqlite --out DIR/labels.csv``.
4. Trains a LightGBM classifier on that table as it is (the standard ``csv`` module,
   no pandas): features are the facts columns (numbers, booleans, text as categories),
   the model scores (``model.NAME.value``) and ``routed_to_review``; the target is
   ``label.action != "allow"`` (a person stopped the payment: blocked it or kept it on
   hold). Here every label came from the queue, so ``routed_to_review`` is true in
   every row; it is kept as a feature so that a log where people also overrode
   decisions nobody routed to them trains the same way. (No reviewed row has an
   ``anomaly`` column: the policy asks that model only while the action is allow.)
   Each row is weighted by the inverse of the review rate of its merchant
   category over every logged decision (docs/decision-log.md, "Selection caveat"),
   so the merchant mix is that of all traffic, not that of the queue. No weight can
   stand for what nobody reviews: every label here comes from the review band of the
   fraud score, so the model is for that band.
5. Prints a summary and saves ``DIR/retrained_model.txt`` (LightGBM text format) with
   ``DIR/retrained_model.json`` (the feature columns, their encoding, the figures).

Seeded and deterministic: the same ``--seed`` gives the same verdicts, table and model.
``DIR`` defaults to a new temporary directory (printed); the files this script writes
there are replaced on a rerun. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
POLICY = HERE / "policy.rule"
SEED = 20261201
FACTS_SEED = 11  # gen_facts.py's default: the first 2,000 transactions are facts.jsonl
ANALYSTS = ("alice", "bilal", "chen")
ROLE = "loss_prevention"  # `override action by loss_prevention`, and the queue's role
SCORE = "model.fraud_score.value"  # the policy's own fraud score, as a baseline
SEGMENT = "txn.merchant_category"  # the review rate is corrected per value of this column
TARGET = "label.action"
MISTAKES = 0.1  # share of verdicts against the hidden rule: what the facts do not tell
WRITTEN = ("facts.jsonl", "decisions.jsonl", "decisions.rejects.jsonl", "log.sqlite",
           "log.sqlite-wal", "log.sqlite-shm", "labels.csv", "retrained_model.txt",
           "retrained_model.json")  # fmt: skip
# Columns of the label table that are not facts (docs/decision-log.md, export-labels).
NOT_FACTS = {"decision_id", "logged_at", "policy", "policy_version", "policy_hash",
             "routed_to_review", "outcome", "overridden_outputs", "person", "role", "reason",
             "reviewed_at"}  # fmt: skip
PARAMS = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 5, "learning_rate": 0.1,
          "feature_fraction": 0.9, "lambda_l2": 1.0, "verbose": -1, "deterministic": True,
          "force_row_wise": True, "num_threads": 1}  # fmt: skip
ROUNDS = 150
MIN_ROWS = 10  # fewer label rows than this: nothing worth training or holding out


# ---- 1. decide, with a log ---------------------------------------------------------------


def cli(*args: str | Path) -> str:
    """Run ``rulelang ARGS`` as a user would; its messages, or exit with its error."""
    command = [sys.executable, "-m", "rulelang.cli", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"`rulelang {' '.join(map(str, args))}` failed ({done.returncode}):\n"
                 f"{done.stdout}{done.stderr}")  # fmt: skip
    return (done.stdout + done.stderr).strip()


def write_facts(out: Path, n: int) -> Path:
    script = HERE / "gen_facts.py"
    command = [sys.executable, str(script), "--n", str(n), "--seed", str(FACTS_SEED),
               "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True)
    return out


def decide(workdir: Path, facts: Path) -> str:
    return cli("run", POLICY, "--facts", facts, "--log", workdir / "log.sqlite",
               "--out", workdir / "decisions.jsonl", "--run-id", "retrain-example")  # fmt: skip


# ---- 2. the simulated reviewers -----------------------------------------------------------


def fraud_probability(facts: Mapping[str, Any]) -> float:
    """The hidden truth (simulated): how likely this payment is fraud.

    Like the data the fraud score was trained on, plus what it never saw: payments
    from NG and BR are riskier, and card-present ones much safer.
    """
    txn, account = facts["txn"], facts["account"]
    amount, usual = float(txn["amount"]), float(account["avg_amount"])
    logit = (-6.4 + 1.1 * math.log((amount + 1) / (usual + 1))
             + 1.6 * (not txn["card_present"]) + 0.7 * (int(txn["hour"]) < 6)
             + 1.2 * (int(account["age_days"]) < 60) + 0.6 * min(int(account["chargebacks"]), 5)
             + 0.6 * (txn["merchant_category"] in ("electronics", "luxury", "gaming"))
             + 1.5 * (txn["country"] in ("NG", "BR")))  # fmt: skip
    return 1 / (1 + math.exp(-logit))


def draw(seed: int, facts: Mapping[str, Any]) -> float:
    """A uniform number in [0, 1) fixed by the seed and the transaction."""
    from rulelang.store.codec import canonical_json

    digest = hashlib.sha256(f"{seed}:{canonical_json(facts)}".encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def verdict(seed: int, facts: Mapping[str, Any]) -> tuple[str, str]:
    """What the analyst does: ("block" | "allow" | "approve", the note)."""
    p = fraud_probability(facts)
    if 0.45 <= p < 0.55:
        return "approve", "cannot tell: the hold stands until the customer confirms"
    fraud = p >= 0.5
    if draw(seed, facts) < MISTAKES:  # what the facts cannot tell: the verdict goes the other way
        fraud = not fraud
    if fraud:
        return "block", "confirmed fraud with the card holder"
    return "allow", "the card holder confirmed the payment"


def work_queue(log_path: Path, seed: int) -> Counter[str]:
    """Close every open review item of the log as the simulated analysts would."""
    from rulelang.cli.store import load_policy_from_source
    from rulelang.store import OverrideRefused, ReviewDesk, open_log

    counts: Counter[str] = Counter()
    rng = random.Random(seed)
    with open_log(log_path, create=False) as log:
        desk = ReviewDesk(log, lambda phash, source: load_policy_from_source(source, phash))
        for item in desk.list_items(role=ROLE, status="open"):
            person = rng.choice(ANALYSTS)
            counts[f"by {person}"] += 1
            facts = desk.show(item.decision_id).decision.facts
            action, note = verdict(seed, facts)
            if action != "approve":
                try:
                    desk.override(item.decision_id, "action", action, person, ROLE, note)
                    counts["overridden"] += 1
                    counts[f"overridden to {action}"] += 1
                    continue
                except OverrideRefused as refused:  # recorded in the log by the desk
                    counts["refused"] += 1
                    note = f"override refused ({refused.override.refusal}); the hold stands"
            desk.approve(item.decision_id, person, ROLE, note=note)
            counts["approved"] += 1
    return counts


def review_rates(log_path: Path) -> dict[str, tuple[int, int]]:
    """Per value of SEGMENT over every logged decision: (decisions, reviewed by a person)."""
    from rulelang.store import open_log

    block, field = SEGMENT.split(".", 1)
    with open_log(log_path, create=False) as log:
        closed = {e.decision_id for e in log.reviews() if e.closes}
        out: dict[str, list[int]] = {}
        for decision in log.decisions(with_facts=True):
            value = (decision.facts.get(block) or {}).get(field)
            key = "" if value is None else str(value)  # as the CSV writes it
            pair = out.setdefault(key, [0, 0])
            pair[0] += 1
            pair[1] += decision.decision_id in closed
    return {k: (n, r) for k, (n, r) in sorted(out.items())}


# ---- 4. the label table as LightGBM features -----------------------------------------------


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or ()), list(reader)


def feature_columns(columns: Sequence[str]) -> list[str]:
    """The facts columns, each model's value, and whether a rule routed it to review."""
    facts = [c for c in columns if c not in NOT_FACTS
             and not c.startswith(("policy.", "label.", "model."))]  # fmt: skip
    scores = [c for c in columns if c.startswith("model.") and c.endswith(".value")]
    return [*facts, *scores, "routed_to_review"]


def describe(rows: Sequence[Mapping[str, str]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """How each column is encoded: number, bool (1/0) or category (code = index in levels)."""
    out = []
    for column in columns:
        seen = {row[column] for row in rows} - {""}
        if seen and seen <= {"true", "false"}:
            out.append({"column": column, "kind": "bool"})
        elif all(_is_number(v) for v in seen):
            out.append({"column": column, "kind": "number"})
        else:
            out.append({"column": column, "kind": "category", "levels": sorted(seen)})
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def encode(rows: Sequence[Mapping[str, str]], features: Sequence[Mapping[str, Any]]) -> Any:
    """The rows as a float matrix in feature order; empty cells and unseen levels are NaN."""
    import numpy as np

    def cell(text: str, feature: Mapping[str, Any]) -> float:
        if text == "":
            return math.nan
        if feature["kind"] == "bool":
            return 1.0 if text == "true" else 0.0
        if feature["kind"] == "category":
            levels = feature["levels"]
            return float(levels.index(text)) if text in levels else math.nan
        return float(text)

    return np.array([[cell(row.get(f["column"], ""), f) for f in features] for row in rows],
                    dtype=np.float64).reshape(len(rows), len(features))  # fmt: skip


def stopped(row: Mapping[str, str]) -> int:
    """The target: 1 when a person did not let the payment through (block or hold)."""
    return int(row[TARGET] != "allow")


def train(workdir: Path, labels: Path, rates: Mapping[str, tuple[int, int]], seed: int
          ) -> dict[str, Any]:  # fmt: skip
    import lightgbm as lgb
    import numpy as np

    columns, rows = read_table(labels)
    features = describe(rows, feature_columns(columns))
    x = encode(rows, features)
    y = np.array([stopped(r) for r in rows], dtype=np.float64)
    # Inverse review rate of the row's segment, scaled to a mean of 1.
    raw = np.array([rates[r[SEGMENT]][0] / rates[r[SEGMENT]][1] for r in rows])
    weight = raw / raw.mean()
    order = np.random.default_rng(seed).permutation(len(rows))
    held = order[: max(1, len(rows) // 4)]
    fit = order[len(held) :]
    names = [f["column"] for f in features]
    cats = [f["column"] for f in features if f["kind"] == "category"]
    data = lgb.Dataset(x[fit], y[fit], weight=weight[fit], feature_name=names,
                       categorical_feature=cats, free_raw_data=False)  # fmt: skip
    booster = lgb.train({**PARAMS, "seed": seed}, data, num_boost_round=ROUNDS)
    guess = (booster.predict(x[held]) >= 0.5).astype(np.float64)
    right = guess == y[held]
    majority = float(y[fit].mean() >= 0.5)
    score = x[:, names.index(SCORE)] if SCORE in names else None
    figures = {
        "label_rows": len(rows),
        "train_rows": len(fit),
        "held_out_rows": len(held),
        "positive_rate": round(float(y.mean()), 4),
        "held_out_accuracy": round(float(right.mean()), 4),
        "held_out_weighted_accuracy": round(float(np.average(right, weights=weight[held])), 4),
        "majority_class_accuracy": round(float((y[held] == majority).mean()), 4),
        "fraud_score_accuracy": None
        if score is None
        else _threshold_accuracy(score[fit], y[fit], score[held], y[held]),
        "weight_range": [round(float(raw.min()), 1), round(float(raw.max()), 1)],
    }
    model = workdir / "retrained_model.txt"
    booster.save_model(str(model))
    sidecar = {"model": model.name, "features": features, "target": f"{TARGET} != allow",
               "weight": f"inverse review rate per {SEGMENT}", "review_rates": rates,
               "seed": seed, "params": PARAMS, "rounds": ROUNDS, "figures": figures}  # fmt: skip
    (workdir / "retrained_model.json").write_text(json.dumps(sidecar, indent=1) + "\n",
                                                  encoding="utf-8")  # fmt: skip
    return {**figures, "features": names, "model": model}


def _threshold_accuracy(train_score: Any, train_y: Any, score: Any, y: Any) -> float:
    """Held-out accuracy of "stopped when score >= t", t the best cut on the training rows."""
    import numpy as np

    cuts = np.unique(train_score[~np.isnan(train_score)])
    best = max(cuts, key=lambda t: float(((train_score >= t) == train_y).mean()), default=0.5)
    return round(float(((score >= best) == y).mean()), 4)


# ---- the command ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where the log, labels and model go "
                        "(default: a new temporary directory)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=SEED, help="seeds the simulated verdicts, "
                        "the analysts, the held-out split and LightGBM")  # fmt: skip
    parser.add_argument(
        "--transactions",
        type=int,
        default=20_000,
        help="how many transactions gen_facts.py writes (default 20000)",
    )
    parser.add_argument("--facts", type=Path, help="decide this JSONL/CSV file instead")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rulelang-retrain-"))
    workdir.mkdir(parents=True, exist_ok=True)
    keep = args.facts.resolve() if args.facts else None
    for name in WRITTEN:  # a rerun starts from a fresh log
        if (workdir / name).resolve() != keep:
            (workdir / name).unlink(missing_ok=True)

    facts = args.facts or write_facts(workdir / "facts.jsonl", args.transactions)
    ran = decide(workdir, facts)
    counts = work_queue(workdir / "log.sqlite", args.seed)
    exported = cli("export-labels", "--log", workdir / "log.sqlite",
                   "--out", workdir / "labels.csv")  # fmt: skip
    rates = review_rates(workdir / "log.sqlite")
    reviewed = counts["approved"] + counts["overridden"]
    if reviewed < MIN_ROWS:
        sys.exit(f"only {reviewed} reviewed decisions: too few to train on (at least {MIN_ROWS})")
    result = train(workdir, workdir / "labels.csv", rates, args.seed)

    people = ", ".join(f"{p} {counts[f'by {p}']}" for p in ANALYSTS)
    print(f"workdir: {workdir}")
    print(f"rulelang run: {ran.splitlines()[-1]}")
    print(f"reviewed: {reviewed} queued decisions ({people}; role {ROLE}, simulated)")
    print(f"  approved {counts['approved']}, overridden {counts['overridden']} (block "
          f"{counts['overridden to block']}, allow {counts['overridden to allow']}), "
          f"refused {counts['refused']}")  # fmt: skip
    print(f"rulelang export-labels: {exported.replace(str(workdir) + os.sep, '')}")
    print(
        f"label rows: {result['label_rows']}; target {TARGET} != allow, "
        f"{result['positive_rate']:.0%} positive"
    )
    names = ", ".join(result["features"])
    print(textwrap.fill(f"features ({len(result['features'])}): {names}", 92,
                        subsequent_indent="  ", break_on_hyphens=False))  # fmt: skip
    low, high = result["weight_range"]
    print(f"weight: 1 / review rate of {SEGMENT} (1 review per {low:g} .. {high:g} decisions)")
    print(
        f"held-out accuracy: {result['held_out_accuracy']:.3f} on {result['held_out_rows']} "
        f"rows (weighted {result['held_out_weighted_accuracy']:.3f}; majority class "
        f"{result['majority_class_accuracy']:.3f}); trained on {result['train_rows']}"
    )
    if result["fraud_score_accuracy"] is not None:
        print(
            f"  the fraud score alone, best cut on the training rows: "
            f"{result['fraud_score_accuracy']:.3f}"
        )
    print(f"model: {result['model'].name} (+ retrained_model.json) in the workdir")
    return 0


if __name__ == "__main__":
    sys.exit(main())
