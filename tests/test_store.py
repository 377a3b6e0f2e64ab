"""The decision log, its hash chain, the review queue, labels, report and CLI.

Shared tests run on SQLite and on PostgreSQL (``RULELANG_TEST_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``; skipped only when no server answers).
Each PostgreSQL test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rulelang
from rulelang.cli import main
from rulelang.cli import store as cli_store
from rulelang.decision import Decision, Firing, ModelCall, OverrideCheck
from rulelang.store import (
    ChainHead,
    LogUnavailable,
    OverrideRefused,
    PolicySource,
    ReviewConflict,
    ReviewError,
    StoreError,
    UnknownDecision,
    open_log,
    verify,
)
from rulelang.store.chain import link, payload_text
from rulelang.store.codec import _MARK, canonical_json, exact_json, loads
from rulelang.store.explain import explain_logged, render_history, render_record
from rulelang.store.labels import export_labels
from rulelang.store.log import DecisionLog
from rulelang.store.report import direction, report
from rulelang.store.review import ReviewDesk
from rulelang.store.schema import DECISIONS

HASH = "sha256:" + "ab" * 32
SOURCE = 'policy retail_pricing\n  version "2026.11.1"\nend\n'

EXAMPLE: dict[str, Any] = {
    "id": "01JEXAMPLE", "policy": "retail_pricing", "version": "2026.11.1",
    "policy_hash": HASH, "action": "review",
    "outputs": {"price": Decimal("99.00"), "rank": 1.15},
    "reasons": ["possible fraud"], "review_by": "loss_prevention",
    "fired": ["vic_new_collection", "fraud_review"],
    "trace": [
        {"rule": "vic_new_collection", "line": 48, "outcome": "fired",
         "values": {"customer.tier": "vic", "item.new_collection": True},
         "changes": {"rank": [1.0, 1.15]}},
        {"rule": "out_of_stock", "line": 40, "outcome": "skipped",
         "values": {"item.stock": 3}, "changes": {}},
    ],
    "models": [{"model": "fraud_risk", "version": "2026-11-01", "value": 0.71,
                "confidence": 0.93, "ms": 0.21, "source": "model"}],
    "error": None,
}  # fmt: skip
FACTS: dict[str, Any] = {
    "item": {"base_price": Decimal("110.00"), "cost": Decimal("60.00"), "stock": 3},
    "customer": {"tier": "vic"},
}


def record(i: int, **changes: Any) -> dict[str, Any]:
    """A record shaped like LANGUAGE.md's, with id ``d{i}``."""
    out: dict[str, Any] = json.loads(json.dumps(EXAMPLE, default=str))
    out["outputs"]["price"] = Decimal("99.00")
    out.update(id=f"d{i}", action="allow", review_by="", reasons=[], fired=[])
    out.update(changes)
    return out


def review_record(i: int, **changes: Any) -> dict[str, Any]:
    base = {"action": "review", "review_by": "loss_prevention", "reasons": ["possible fraud"],
            "fired": ["fraud_review"]}  # fmt: skip
    return record(i, **{**base, **changes})


@dataclass
class FakePolicy:
    """Stands in for a compiled policy: price by pricing_manager within
    cost*105% .. base_price*120%; action by loss_prevention."""

    policy_hash: str = HASH
    calls: list[tuple[str, Any, str]] = field(default_factory=list)

    def check_override(
        self, record: dict[str, Any], facts: dict[str, Any], output: str, value: Any, role: str
    ) -> OverrideCheck:
        self.calls.append((output, value, role))
        rights = {"price": "pricing_manager", "action": "loss_prevention"}
        if output not in rights:
            return OverrideCheck(False, f"no role may override `{output}`")
        if role != rights[output]:
            return OverrideCheck(False, f"role `{role}` has no right to override `{output}`")
        if output == "action":
            return OverrideCheck(True, "", value)
        low = Decimal(str(facts["item"]["cost"])) * Decimal("1.05")
        high = Decimal(str(facts["item"]["base_price"])) * Decimal("1.2")
        new = Decimal(str(value))
        if not low <= new <= high:
            return OverrideCheck(False, f"{new} is outside the allowed bounds {low} .. {high}")
        return OverrideCheck(True, "", new, (low, high))


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def log(log_url: str) -> Iterator[DecisionLog]:
    with open_log(log_url) as opened:
        yield opened


def raw(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL behind the log's back (to tamper with it)."""
    if not url.startswith("postgresql://"):
        with sqlite3.connect(url) as conn:
            return conn.execute(sql, params).fetchall()
    import psycopg

    from rulelang.store.postgres import split_schema

    conninfo, schema = split_schema(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        cur = conn.execute(sql.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []


def problems(log: DecisionLog, anchor: ChainHead | None = None) -> list[tuple[Any, ...]]:
    return [(p.kind, p.seq, p.last_seq, p.subject) for p in verify(log, anchor).problems]


# -- canonical JSON ---------------------------------------------------------------------


def test_canonical_json_keeps_decimals_exact_and_sorts_keys() -> None:
    text = canonical_json({"b": Decimal("99.00"), "a": [1.15, Decimal("1E+2"), True, None]})
    assert text == '{"a":[1.15,1E+2,true,null],"b":99.00}'
    assert loads(text) == {"a": [Decimal("1.15"), Decimal("100"), True, None], "b": Decimal("99")}
    assert str(loads(text)["b"]) == "99.00"


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(ValueError):
        canonical_json({"x": Decimal("NaN")})


def test_a_string_equal_to_the_internal_marker_does_not_corrupt_decimals() -> None:
    value = {"a": _MARK, "b": Decimal("1.50")}
    assert canonical_json(value) == exact_json(value)
    assert loads(canonical_json(value)) == {"a": _MARK, "b": Decimal("1.50")}


JSON_LEAVES = (
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False) | st.just(_MARK)
)  # fmt: skip
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_fast_encoder_agrees_with_the_obvious_one(value: Any) -> None:
    text = canonical_json(value)
    assert text == exact_json(value)
    assert canonical_json(loads(text)) == text or _has_float(value)


def _has_float(value: Any) -> bool:
    """Floats read back as Decimal, so re-encoding may print ``1e-07`` as ``1E-7``."""
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


# -- the log ------------------------------------------------------------------------------


def test_append_and_get_round_trip_exactly(log: DecisionLog) -> None:
    seq = log.append(EXAMPLE, FACTS)
    got = log.get("01JEXAMPLE")
    assert got is not None and got.seq == seq
    assert got.record["outputs"]["price"] == Decimal("99.00")
    assert str(got.record["outputs"]["price"]) == "99.00"
    assert float(got.record["outputs"]["rank"]) == 1.15
    assert got.facts["item"]["base_price"] == Decimal("110.00")
    assert (got.action, got.review_by, got.policy_hash) == ("review", "loss_prevention", HASH)
    assert got.model_versions == {"fraud_risk": "2026-11-01"}
    assert log.get("nope") is None
    with pytest.raises(UnknownDecision):
        log.require("nope")


def test_a_decision_object_can_be_appended(log: DecisionLog) -> None:
    decision = Decision(
        policy="retail_pricing", version="1", policy_hash=HASH, action="block",
        outputs={"price": Decimal("5.10")}, reasons=("fraud",), review_by="",
        fired=("fraud_block",), trace=(Firing("fraud_block", 60, "fired"),),
        models=(ModelCall("fraud_risk", "v2", 0.9, 0.95, 1.0, "model"),),
    )  # fmt: skip
    log.append(decision, {"item": {}})
    got = log.require(decision.id)
    assert got.record["trace"][0]["rule"] == "fraud_block"
    assert got.record["outputs"]["price"] == Decimal("5.10")
    assert got.model_versions == {"fraud_risk": "v2"}


def test_append_many_resumes_without_duplicates(log: DecisionLog) -> None:
    assert log.append_many("run1", ((i, record(i), FACTS) for i in range(10)), batch_size=3) == 10
    assert log.done_lines("run1") == set(range(10))
    assert log.append_many("run1", ((i, record(i), FACTS) for i in range(15))) == 5
    assert log.count() == 15
    assert log.done_lines("run1") == set(range(15))
    assert log.done_lines("other") == set()
    assert verify(log).ok


def test_a_duplicate_decision_id_is_refused_and_changes_nothing(log: DecisionLog) -> None:
    log.append_many("run1", [(0, record(0), FACTS)])
    with pytest.raises(StoreError, match="decision d0 is already in the log"):
        log.append_many("run2", [(0, record(1), FACTS), (1, record(0), FACTS)])
    with pytest.raises(StoreError, match="decision d7 appears twice in one batch"):
        log.append_many("run3", [(0, record(7), FACTS), (1, record(7), FACTS)])
    log.append_many("run4", [(0, record(4), FACTS)])
    with pytest.raises(StoreError, match="decision d0 is already in the log"):  # not d4
        log.append_many("run4", [(0, record(4), FACTS), (1, record(0), FACTS)])
    assert log.count() == 2
    assert verify(log).ok


def test_bad_input_is_refused_with_a_clear_message(log: DecisionLog) -> None:
    with pytest.raises(StoreError, match=r"line\(s\) \[2\] given more than once"):
        log.append_many("r", [(2, record(1), FACTS), (2, record(2), FACTS)])
    with pytest.raises(StoreError, match=r"lacks .*policy_hash"):
        log.append({"id": "x", "policy": "p", "version": "1", "action": "allow"}, {})
    with pytest.raises(StoreError, match=r"non-finite|NaN"):
        log.append(record(3, outputs={"rank": Decimal("NaN")}), {})
    with pytest.raises(StoreError, match="line number"):
        log.append_many("r", [(-1, record(4), FACTS)])
    assert log.count() == 0


def test_policies_are_stored_once_per_hash(log: DecisionLog) -> None:
    policy = PolicySource(HASH, "retail_pricing", "2026.11.1", SOURCE)
    assert log.add_policy(policy) is True
    assert log.add_policy(policy) is False
    assert log.register_policy(HASH, "retail_pricing", "2026.11.1", SOURCE) is False
    assert log.policy_source(HASH) == policy
    assert log.policy_source("sha256:none") is None
    with pytest.raises(StoreError, match="another source"):
        log.add_policy(PolicySource(HASH, "retail_pricing", "2", SOURCE + "# changed\n"))


def test_decisions_are_read_in_order_page_by_page_with_filters(log: DecisionLog) -> None:
    rows = [(i, review_record(i) if i % 7 == 0 else record(i), FACTS) for i in range(2300)]
    log.append_many("big", rows)
    ids = [d.decision_id for d in log.decisions(with_facts=False)]
    assert ids == [f"d{i}" for i in range(2300)]
    reviews = list(log.decisions(action="review", run_id="big"))
    assert [d.line for d in reviews] == list(range(0, 2300, 7))
    assert reviews[0].facts == loads(canonical_json(FACTS))
    assert next(log.decisions(with_facts=False)).facts == {}


def test_open_log_urls(tmp_path: Path) -> None:
    with pytest.raises(LogUnavailable, match="no decision log"):
        open_log(tmp_path / "missing.sqlite", create=False)
    with pytest.raises(LogUnavailable, match="unknown log URL"):
        open_log("mysql://host/db")
    with open_log(f"sqlite:///{tmp_path}/a.sqlite") as log:
        log.append(record(1), {})
    with open_log(tmp_path / "a.sqlite", create=False) as log:
        assert log.count() == 1
        assert raw(str(tmp_path / "a.sqlite"), "PRAGMA journal_mode") == [("wal",)]
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(LogUnavailable, match="not a rulelang decision log"):
        open_log(other, create=False)


def test_an_unreachable_server_is_reported(tmp_path: Path) -> None:
    with pytest.raises(LogUnavailable, match="cannot reach"):
        open_log("postgresql://nobody:secret@127.0.0.1:1/none", timeout=1)
    try:
        open_log("postgresql://nobody:secret@127.0.0.1:1/none", timeout=1)
    except LogUnavailable as exc:
        assert "secret" not in str(exc)


# -- tamper evidence ----------------------------------------------------------------------


def filled(log: DecisionLog) -> None:
    """Seq 1: policy; 2..6: decisions d0..d4 (d0 review); 7: an approval of d0."""
    log.add_policy(PolicySource(HASH, "retail_pricing", "2026.11.1", SOURCE))
    log.append_many(
        "r", [(0, review_record(0), FACTS), *((i, record(i), FACTS) for i in (1, 2, 3, 4))]
    )
    ReviewDesk(log).approve("d0", "alice", "loss_prevention", "fine")
    assert verify(log).ok and log.head().seq == 7


def test_an_intact_chain_verifies(log: DecisionLog) -> None:
    filled(log)
    result = verify(log)
    assert result.rows == 7 and result.render().endswith("ok: the chain is intact")


def test_an_edited_record_is_named(log: DecisionLog, log_url: str) -> None:
    filled(log)
    raw(log_url, "UPDATE decisions SET record = replace(record, '99.00', '9.00') WHERE seq = 4")
    assert problems(log) == [("changed", 4, 4, "d2")]


def test_an_edited_column_is_named(log: DecisionLog, log_url: str) -> None:
    filled(log)
    raw(log_url, "UPDATE decisions SET action = 'block' WHERE decision_id = 'd3'")
    raw(log_url, "UPDATE reviews SET person = 'mallory'")
    assert problems(log) == [("changed", 5, 5, "d3"), ("changed", 7, 7, "d0")]
    assert "changed  seq 7 reviews d0" in verify(log).render()


def test_a_rewritten_hash_is_caught_by_the_next_link(log: DecisionLog, log_url: str) -> None:
    filled(log)
    values = raw(log_url, f"SELECT {', '.join(DECISIONS.column_names)}, prev_hash "
                          "FROM decisions WHERE seq = 3")[0]  # fmt: skip
    forged = list(values[:-1])
    forged[6] = "block"  # action
    digest = link(values[-1], payload_text(DECISIONS, 3, forged))
    raw(log_url, "UPDATE decisions SET action = 'block', hash = ? WHERE seq = 3", (digest,))
    assert problems(log) == [("changed", 3, 3, "d1")]


def test_removed_rows_are_reported_by_sequence(log: DecisionLog, log_url: str) -> None:
    filled(log)
    raw(log_url, "DELETE FROM decisions WHERE seq IN (3, 4)")
    assert problems(log) == [("removed", 3, 4, "")]
    raw(log_url, "DELETE FROM reviews")
    assert problems(log) == [("removed", 3, 4, ""), ("removed", 7, 7, "")]


def test_a_removed_decision_with_reviews_is_named(log: DecisionLog, log_url: str) -> None:
    filled(log)
    raw(log_url, "DELETE FROM decisions WHERE decision_id = 'd0'")
    found = problems(log)
    assert ("removed", 2, 2, "") in found and ("removed", 0, 0, "d0") in found


def test_inserted_rows_are_reported(log: DecisionLog, log_url: str) -> None:
    filled(log)
    cols = ", ".join(DECISIONS.stored_names)
    marks = ", ".join("?" * len(DECISIONS.stored_names))
    copy = raw(log_url, f"SELECT {cols} FROM decisions WHERE seq = 6")[0]
    for seq, did in ((7, "forged7"), (99, "forged99")):
        row = (seq, did, None, None, *copy[4:])
        raw(log_url, f"INSERT INTO decisions ({cols}) VALUES ({marks})", row)
    found = problems(log)
    assert ("inserted", 7, 7, "forged7") in found and ("inserted", 99, 99, "forged99") in found
    assert len(found) == 2


def test_truncation_and_a_rewound_head_need_the_anchor(log: DecisionLog, log_url: str) -> None:
    filled(log)
    anchor = log.head()
    raw(log_url, "DELETE FROM reviews")
    assert problems(log) == [("removed", 7, 7, "")]
    before = raw(log_url, "SELECT hash FROM decisions WHERE seq = 6")[0][0]
    raw(log_url, "UPDATE chain_head SET seq = 6, hash = ?", (before,))
    assert verify(log).ok  # a consistent truncation: only an anchor shows it
    assert problems(log, anchor) == [("removed", 7, 7, "")]
    assert problems(log, ChainHead(3, "0" * 64)) == [("changed", 3, 3, "d1")]


def test_anchor_text_round_trips() -> None:
    head = ChainHead(12, "ab" * 32)
    assert ChainHead.parse(head.render()) == head
    with pytest.raises(ValueError, match="SEQ:HASH"):
        ChainHead.parse("12:xyz")


# -- review queue -------------------------------------------------------------------------


def desk_with_items(log: DecisionLog) -> tuple[ReviewDesk, FakePolicy]:
    log.add_policy(PolicySource(HASH, "retail_pricing", "2026.11.1", SOURCE))
    rows = [
        (0, review_record(0), FACTS),
        (1, review_record(1, review_by="pricing_manager", reasons=["odd price"]), FACTS),
        (2, review_record(2), FACTS),
        (3, record(3, fired=["vic_new_collection"]), FACTS),
    ]
    log.append_many("r", rows)
    policy = FakePolicy()
    loaded: list[tuple[str, str]] = []

    def loader(policy_hash: str, source: str) -> FakePolicy:
        loaded.append((policy_hash, source))
        return policy

    desk = ReviewDesk(log, loader)
    desk.loaded = loaded  # type: ignore[attr-defined]
    return desk, policy


def test_the_queue_lists_by_role_and_status(log: DecisionLog) -> None:
    desk, _ = desk_with_items(log)
    assert [i.decision_id for i in desk.list_items()] == ["d0", "d1", "d2"]
    assert [i.decision_id for i in desk.list_items("loss_prevention")] == ["d0", "d2"]
    desk.approve("d0", "alice", "loss_prevention", "known customer")
    assert [i.decision_id for i in desk.list_items("loss_prevention")] == ["d2"]
    closed = desk.list_items(status="closed")
    assert [(i.decision_id, i.status) for i in closed] == [("d0", "approved")]
    assert [i.status for i in desk.list_items(status="all")] == ["approved", "open", "open"]
    assert desk.list_items(limit=1)[0].reasons == ("odd price",)


def test_approval_rules(log: DecisionLog) -> None:
    desk, _ = desk_with_items(log)
    with pytest.raises(ReviewError, match="queued for pricing_manager, not for intern"):
        desk.approve("d1", "alice", "intern")
    with pytest.raises(ReviewError, match="not routed to review"):
        desk.approve("d3", "alice", "loss_prevention")
    with pytest.raises(ReviewError, match="non-empty person"):
        desk.approve("d0", " ", "loss_prevention")
    with pytest.raises(UnknownDecision):
        desk.approve("nope", "alice", "loss_prevention")
    event = desk.approve("d0", "alice", "loss_prevention", "fine")
    assert (event.kind, event.person, event.note) == ("approved", "alice", "fine")
    with pytest.raises(ReviewError, match="already approved by alice"):
        desk.approve("d0", "bob", "loss_prevention")
    assert desk.show("d0").status == "approved"


def test_an_audit_approves_a_decision_no_rule_routed(log: DecisionLog, tmp_path: Path) -> None:
    # A random audit sample is what lets retraining correct for routed-only labels.
    desk, _ = desk_with_items(log)
    with pytest.raises(ReviewError, match="approve it as an audit"):
        desk.approve("d3", "dana", "auditor")
    event = desk.approve("d3", "dana", "auditor", "random sample", audit=True)
    assert (event.kind, event.role) == ("approved", "auditor")
    with pytest.raises(ReviewError, match="queued for pricing_manager"):
        desk.approve("d1", "dana", "auditor", audit=True)  # a queue keeps its role
    out = tmp_path / "labels.csv"
    assert export_labels(log, out) == 1
    [row] = csv.DictReader(out.open())
    assert (row["decision_id"], row["routed_to_review"], row["outcome"]) == (
        "d3",
        "false",
        "approved",
    )
    assert verify(log).ok


def test_an_accepted_override_sits_beside_the_decision(log: DecisionLog) -> None:
    desk, policy = desk_with_items(log)
    done = desk.override("d1", "price", "100", "carol", "pricing_manager", "match competitor")
    assert (done.accepted, done.old, done.new) == (True, Decimal("99.00"), Decimal("100"))
    assert desk.loaded == [(HASH, SOURCE)]  # type: ignore[attr-defined]
    assert policy.calls == [("price", "100", "pricing_manager")]
    case = desk.show("d1")
    assert case.decision.record["outputs"]["price"] == Decimal("99.00")  # unchanged
    assert case.effective_record["outputs"]["price"] == Decimal("100")
    assert case.status == "overridden"
    assert "d1" not in [i.decision_id for i in desk.list_items()]
    # an override needs no queue: pricing may change an allowed decision's price too
    desk.override("d3", "price", Decimal("70"), "carol", "pricing_manager", "clearance")
    desk.override("d3", "price", Decimal("72"), "carol", "pricing_manager", "oops, 72")
    later = desk.show("d3")
    assert [e.old for e in later.events] == [Decimal("99.00"), Decimal("70")]
    assert later.effective_record["outputs"]["price"] == Decimal("72")
    assert verify(log).ok


def test_a_refused_override_is_recorded_and_raised(log: DecisionLog) -> None:
    desk, _ = desk_with_items(log)
    with pytest.raises(OverrideRefused, match="outside the allowed bounds") as caught:
        desk.override("d1", "price", "10", "carol", "pricing_manager", "too cheap")
    assert caught.value.override.accepted is False
    with pytest.raises(OverrideRefused, match="has no right"):
        desk.override("d1", "price", "100", "dave", "loss_prevention", "why not")
    case = desk.show("d1")
    assert [(e.kind, e.person) for e in case.events] == [("refused", "carol"), ("refused", "dave")]
    assert case.events[0].new == "10" and "outside" in case.events[0].message
    assert case.status == "open"
    with pytest.raises(ReviewError, match="non-empty reason"):
        desk.override("d1", "price", "100", "carol", "pricing_manager", "")


def test_an_override_without_the_policy_source_is_refused_clearly(log: DecisionLog) -> None:
    log.append(review_record(9, policy_hash="sha256:unknown"), FACTS)
    desk = ReviewDesk(log, lambda h, s: FakePolicy(policy_hash=h))
    with pytest.raises(ReviewError, match="holds no source for policy sha256:unknown"):
        desk.override("d9", "action", "allow", "erin", "loss_prevention", "ok")
    with pytest.raises(ReviewError, match="no policy loader"):
        ReviewDesk(log).override("d9", "action", "allow", "erin", "loss_prevention", "ok")


def test_a_policy_that_compiles_to_another_hash_is_not_trusted(log: DecisionLog) -> None:
    desk_with_items(log)
    other = ReviewDesk(log, lambda h, s: FakePolicy(policy_hash="sha256:other"))
    with pytest.raises(ReviewError, match="now compiles to sha256:other"):
        other.override("d0", "action", "allow", "erin", "loss_prevention", "ok")
    broken = ReviewDesk(log, lambda h, s: (_ for _ in ()).throw(ValueError("syntax error")))
    with pytest.raises(ReviewError, match=r"cannot load policy .*syntax error"):
        broken.override("d0", "action", "allow", "erin", "loss_prevention", "ok")


def test_an_override_loses_to_a_reviewer_who_acted_meanwhile(log: DecisionLog) -> None:
    desk, _ = desk_with_items(log)

    class Racing(FakePolicy):
        def check_override(self, *args: Any) -> OverrideCheck:
            ReviewDesk(log).approve("d0", "frank", "loss_prevention")  # someone else, meanwhile
            return super().check_override(*args)

    racing = ReviewDesk(log, lambda h, s: Racing())
    with pytest.raises(ReviewConflict, match="changed while the override was checked"):
        racing.override("d0", "action", "block", "erin", "loss_prevention", "fraud")
    assert [e.kind for e in desk.show("d0").events] == ["approved"]


def test_two_reviewers_cannot_both_close_an_item(log_url: str, log: DecisionLog) -> None:
    desk_with_items(log)
    outcomes: list[str] = []

    def approve(person: str) -> None:
        with open_log(log_url) as own:
            try:
                ReviewDesk(own).approve("d2", person, "loss_prevention")
                outcomes.append("ok")
            except ReviewError:
                outcomes.append("refused")

    threads = [threading.Thread(target=approve, args=(p,)) for p in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused", "refused"]


# -- explaining ---------------------------------------------------------------------------


def test_render_record_says_what_happened_and_why() -> None:
    text = render_record(EXAMPLE)
    for line in [
        "Decision 01JEXAMPLE",
        "Policy retail_pricing version 2026.11.1 (sha256:abababababababab…)",
        "Action: review, for loss_prevention to review",
        "  - possible fraud",
        "  price = 99.00",
        "  rank = 1.15",
        "  vic_new_collection (line 48): fired",
        '      read customer.tier = "vic", item.new_collection = true',
        "      changed rank from 1.0 to 1.15",
        "  out_of_stock (line 40): did not fire: its condition was false",
        "  fraud_risk (version 2026-11-01): 0.71 with confidence 93%, from the model, 0.21 ms",
    ]:
        assert line in text.splitlines(), line


def test_render_record_no_answer_error_and_untraced() -> None:
    calls = [{"model": "similarity", "version": "1", "value": 0, "confidence": None, "ms": 50.2,
              "source": "fallback", "reason": "timeout"},
             {"model": "fraud_risk", "version": "2", "value": None, "confidence": 0.5,
              "ms": 1, "source": "none", "reason": "low confidence"}]  # fmt: skip
    text = render_record(record(1, models=calls, trace=[], fired=["discount_cap"]))
    assert "similarity (version 1): no answer (timeout); used the fallback 0, 50.2 ms" in text
    assert "fraud_risk (version 2): no answer (low confidence), 1 ms" in text
    assert "Rules that fired, in order: discount_cap" in text
    issue = {"path": "item.stock", "expected": "int in 0 .. 100000", "got": "-1"}
    error = {"type": "bad_facts", "issues": [issue]}
    bad = render_record(record(2, action="block", error=error, trace=[], models=[]))
    assert "The facts were rejected, so no rule ran:" in bad
    assert "item.stock: expected int in 0 .. 100000, got -1" in bad


def test_explain_logged_tells_the_review_history(log: DecisionLog) -> None:
    desk, _ = desk_with_items(log)
    assert "Review: waiting for loss_prevention." in explain_logged(log, "d0")
    with pytest.raises(OverrideRefused):
        desk.override("d1", "price", "10", "carol", "pricing_manager", "cheap")
    desk.override("d1", "price", "105.50", "carol", "pricing_manager", "competitor")
    text = explain_logged(log, "d1")
    assert (
        "override refused: carol (pricing_manager) asked for price from 99.00 to 10; "
        'reason: "cheap"' in text
    )
    assert (
        'overridden by carol (pricing_manager): price from 99.00 to 105.50; reason: "competitor"'
        in text
    )
    assert "  price = 105.50 (the policy decided 99.00)" in text
    assert "  item.base_price = 110.00" in text
    assert "run r line 1" in text
    assert render_history([], record(9, action="allow")) == "Review: none."


# -- labels and report --------------------------------------------------------------------


def reviewed_log(log: DecisionLog) -> None:
    desk, _ = desk_with_items(log)
    desk.approve("d0", "alice", "loss_prevention", "fine")
    desk.override("d1", "price", "120", "carol", "pricing_manager", "competitor")
    desk.override("d2", "action", "block", "erin", "loss_prevention", "stolen card")
    log.append(review_record(5), FACTS)
    with pytest.raises(OverrideRefused):
        desk.override("d5", "price", "1", "carol", "pricing_manager", "refused only")


def test_export_labels_csv(log: DecisionLog, tmp_path: Path) -> None:
    reviewed_log(log)
    out = tmp_path / "labels.csv"
    assert export_labels(log, out) == 3
    rows = {r["decision_id"]: r for r in csv.DictReader(out.open())}
    assert sorted(rows) == ["d0", "d1", "d2"]
    d0, d1, d2 = rows["d0"], rows["d1"], rows["d2"]
    assert d0["item.base_price"] == "110.00" and d0["customer.tier"] == "vic"
    assert d0["model.fraud_risk.value"] == "0.71" and d0["model.fraud_risk.version"] == "2026-11-01"
    assert (d0["outcome"], d0["policy.price"], d0["label.price"]) == ("approved", "99.00", "99.00")
    assert [d1["outcome"], d1["label.price"], d1["overridden_outputs"]] == [
        "overridden", "120", "price",
    ]  # fmt: skip
    assert [d2["policy.action"], d2["label.action"], d2["reason"]] == [
        "review", "block", "stolen card",
    ]  # fmt: skip
    assert d0["routed_to_review"] == "true" and d0["person"] == "alice"
    assert list(rows["d0"])[:2] == ["decision_id", "logged_at"]


def test_export_labels_jsonl_and_parquet(log: DecisionLog, tmp_path: Path) -> None:
    reviewed_log(log)
    assert export_labels(log, tmp_path / "l.jsonl") == 3
    first = json.loads((tmp_path / "l.jsonl").read_text().splitlines()[1])
    assert first["label.price"] == 120 and first["policy.price"] == 99.0
    pq = pytest.importorskip("pyarrow.parquet")
    export_labels(log, tmp_path / "l.out", "parquet")
    table = pq.read_table(tmp_path / "l.out")
    assert table.num_rows == 3
    assert str(table.schema.field("label.price").type) == "double"
    assert table.column("routed_to_review").to_pylist() == [True, True, True]
    assert table.column("label.price").to_pylist() == [99.0, 120.0, 99.0]


def test_export_labels_errors(
    log: DecisionLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StoreError, match="label format is one of"):
        export_labels(log, tmp_path / "x.txt")
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    with pytest.raises(StoreError, match="Parquet export needs pyarrow"):
        export_labels(log, tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_report_counts_rules_models_and_directions(log: DecisionLog) -> None:
    reviewed_log(log)
    calls = [{"model": "fraud_risk", "version": "2", "value": None, "confidence": 0.4, "ms": 3,
              "source": "none", "reason": "low confidence"}]  # fmt: skip
    trace = [
        {"rule": "fraud_review", "line": 70, "outcome": "unknown", "values": {}, "changes": {}}
    ]
    log.append(review_record(6, fired=[], models=calls, trace=trace), FACTS)
    figures = report(log)
    assert figures.decisions == 6 and figures.actions == {"review": 5, "allow": 1}
    assert (figures.reviewed, figures.overridden, figures.refused) == (3, 2, 1)
    rule = {r.rule: r for r in figures.rules}["fraud_review"]
    counts = (rule.fired, rule.unknown, rule.to_review, rule.reviewed, rule.overridden)
    assert counts == (4, 1, 5, 3, 2)
    assert rule.directions == {"raised": 1, "action up": 1}
    model = figures.models[0]
    assert (model.model, model.calls, model.answered) == ("fraud_risk", 6, 5)
    assert model.no_answer == {"low confidence": 1}
    assert model.mean_value == pytest.approx(0.71)
    assert model.versions == ("2", "2026-11-01")
    text = figures.render()
    assert "Decisions: 6 (allow 1, review 5)" in text and "no answer" in text
    data = figures.to_dict()
    assert data["rules"][0]["override_rate"] == pytest.approx(2 / 3)
    assert json.loads(canonical_json(data))["models"][0]["no_answer_rate"] == pytest.approx(1 / 6)


def test_direction() -> None:
    assert direction("price", Decimal("99.00"), Decimal("100")) == "raised"
    assert direction("rank", 1.15, 1.0) == "lowered"
    assert direction("action", "review", "allow") == "action down"
    assert direction("action", "allow", "block") == "action up"
    assert direction("label", "a", "b") == "changed"


# -- command line -------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = str(tmp_path / "cli.sqlite")
    with open_log(path) as log:
        desk_with_items(log)
    monkeypatch.setattr(cli_store, "load_policy_from_source", lambda source, h: FakePolicy())
    return path


def test_cli_review_workflow(cli_log: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "review", "list", "--log", cli_log, "--role", "loss_prevention")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == ["d0", "d2"]
    code, out, _ = cli(capsys, "review", "show", "d0", "--log", cli_log)
    assert code == 0 and "Action: review, for loss_prevention to review" in out
    code, out, _ = cli(capsys, "review", "approve", "d0", "--as", "alice", "--role",
                       "loss_prevention", "--note", "ok", "--log", cli_log)  # fmt: skip
    assert code == 0 and "approved decision d0 as alice" in out
    code, out, _ = cli(capsys, "review", "override", "d1", "price=105.5", "--reason", "comp",
                       "--as", "carol", "--role", "pricing_manager", "--log", cli_log)  # fmt: skip
    assert code == 0 and "price changed from 99.00 to 105.5" in out
    code, _, err = cli(capsys, "review", "override", "d2", "price=1", "--reason", "x",
                       "--as", "carol", "--role", "pricing_manager", "--log", cli_log)  # fmt: skip
    assert code == 1 and "refused:" in err and "recorded" in err
    code, out, _ = cli(capsys, "review", "list", "--status", "all", "--json", "--log", cli_log)
    assert [i["status"] for i in json.loads(out)] == ["approved", "overridden", "open"]
    code, out, _ = cli(capsys, "review", "show", "d1", "--json", "--log", cli_log)
    assert json.loads(out)["history"][0]["new"] == 105.5
    code, _, err = cli(capsys, "review", "approve", "d3", "--as", "dana", "--role", "auditor",
                       "--log", cli_log)  # fmt: skip
    assert code == 1 and "approve it as an audit" in err
    code, out, _ = cli(capsys, "review", "approve", "d3", "--audit", "--as", "dana", "--role",
                       "auditor", "--log", cli_log)  # fmt: skip
    assert code == 0 and "approved decision d3 as dana (auditor)" in out


def test_cli_errors_are_one_line_with_the_right_status(
    cli_log: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "review", "show", "nope", "--log", cli_log)
    assert code == 2 and err.strip() == "rulelang: no decision with id 'nope' in the log"
    code, _, err = cli(
        capsys, "review", "approve", "d1", "--as", "a", "--role", "x", "--log", cli_log
    )
    assert code == 1 and "queued for pricing_manager" in err
    code, _, err = cli(capsys, "review", "override", "d1", "price", "--reason", "r",
                       "--as", "a", "--role", "x", "--log", cli_log)  # fmt: skip
    assert code == 2 and "OUTPUT=VALUE" in err
    code, _, err = cli(capsys, "report", "--log", str(tmp_path / "none.sqlite"))
    assert code == 2 and "no decision log at" in err and not (tmp_path / "none.sqlite").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["review", "approve", "d1", "--log", cli_log])
    assert exit_.value.code == 2


def test_cli_log_from_the_environment(
    cli_log: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULELANG_LOG", cli_log)
    code, out, _ = cli(capsys, "audit", "head")
    assert code == 0 and out.startswith("5:")


def test_cli_audit_export_report(
    cli_log: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "review", "approve", "d0", "--as", "alice", "--role", "loss_prevention",
        "--log", cli_log)  # fmt: skip
    code, out, _ = cli(capsys, "audit", "verify", "--log", cli_log)
    assert code == 0 and "ok: the chain is intact" in out
    _, anchor, _ = cli(capsys, "audit", "head", "--log", cli_log)
    code, out, _ = cli(capsys, "export-labels", "--out", str(tmp_path / "l.csv"), "--log", cli_log)
    assert code == 0 and "wrote 1 labelled decisions" in out
    code, out, _ = cli(capsys, "report", "--json", "--log", cli_log)
    assert code == 0 and json.loads(out)["reviewed"] == 1
    raw(cli_log, "UPDATE decisions SET review_by = 'nobody' WHERE decision_id = 'd2'")
    code, out, _ = cli(capsys, "audit", "verify", "--log", cli_log, "--anchor", anchor.strip())
    assert code == 1 and "changed  seq 4 decisions d2" in out and "FAILED: 1 problem(s)" in out
    code, out, _ = cli(capsys, "audit", "verify", "--json", "--log", cli_log)
    assert code == 1 and json.loads(out)["problems"][0]["subject"] == "d2"
    code, _, err = cli(capsys, "audit", "verify", "--anchor", "bad", "--log", cli_log)
    assert code == 2 and "SEQ:HASH" in err


def test_register_plugs_into_another_parser(cli_log: str) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="rulelang")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("check")
    cli_store.register(sub)
    args = parser.parse_args(["report", "--log", cli_log])
    assert args.handler(args) == 0


def test_the_main_command_line_runs_the_store_commands(
    cli_log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main = pytest.importorskip("rulelang.cli").main
    assert main(["review", "list", "--log", cli_log]) == 0
    assert capsys.readouterr().out.split()[0] == "d0"
    assert main(["audit", "verify", "--log", cli_log]) == 0


def test_parse_value() -> None:
    assert cli_store.parse_value("89.00") == Decimal("89.00")
    assert str(cli_store.parse_value("89.00")) == "89.00"
    assert cli_store.parse_value("15%") == Decimal("0.15")
    assert cli_store.parse_value("7") == 7
    assert cli_store.parse_value("true") is True
    assert cli_store.parse_value('"12"') == "12"
    assert cli_store.parse_value("allow") == "allow"


SHOP = """policy shop
  version "1"
end

facts item
  base_price: money in 0 .. 100000
  cost: money in 0 .. 100000
  stock: int in 0 .. 1000
  weight: number in 0 .. 100
end

decision
  price: money = item.base_price
end

rule low_stock "Low stock goes to a person"
  when item.stock < 3 and item.weight < 50.5
  then review "low stock" by pricing_manager
end

override price by pricing_manager within item.cost * 105% .. item.base_price * 120%
"""


def test_overrides_through_the_real_compiler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = rulelang.open_source(SHOP, allow_unbound=True)
    facts = {"item": {"base_price": 99.5, "cost": 50.25, "stock": 1, "weight": 0.1}}
    decision = policy.decide(facts, explain=True)
    path = str(tmp_path / "real.sqlite")
    with open_log(path) as log:
        log.add_policy(PolicySource(policy.policy_hash, policy.name, policy.version, SHOP))
        log.append(decision, facts)
    who = ["--as", "carol", "--role", "pricing_manager", "--log", path]
    code, _, err = cli(
        capsys, "review", "override", decision.id, "price=52.00", "--reason", "x", *who
    )
    assert code == 1 and "outside the allowed bounds" in err and "recorded" in err
    code, out, err = cli(
        capsys, "review", "override", decision.id, "price=110.00", "--reason", "ok", *who
    )
    assert (code, err) == (0, "") and "price changed from 99.5 to 110.00" in out
    with open_log(path) as log:
        events = list(log.reviews(decision.id))
    assert [(e.kind, str(e.new)) for e in events] == [
        ("refused", "52.00"),
        ("overridden", "110.00"),
    ]
    assert "outside the allowed bounds" in events[0].message
