"""Comparing two versions of a policy: two compiled policies + facts -> a ``DiffReport``.

Input: OLD and NEW ``CompiledPolicy`` and records to decide with both: facts read
from a JSONL/CSV file or a decision log (streamed a batch at a time, so memory stays
flat), and facts generated from NEW's `facts` declarations with
``invariants.examples_strategy``. Both versions always see the same model answers:
the bound models' (``--models``), or fixed answers passed as ``replace_models`` (the
answers a log recorded, the answers generated with the facts, or seeded answers).

Output: a frozen ``DiffReport``: per source, how many decisions were compared and
how many changed; the action matrix; per output, how many shifted and by how much;
changes of reasons and review role; the rules whose firing changed; a few examples
of each kind of change as pasteable `given ... with ...` lines; and the
declarations added, removed or edited between the versions. ``DiffReport.to_dict`` is
its JSON; ``cli_diff.render_text`` its text for people.

A decision *changed* when its action, its reasons (in order), its review role, an
output both versions declare, or whether it failed differs. A rule whose firing
changed while the outcome did not is listed under rules, not counted as a change.
Records that a version rejects are set aside and counted, never compared.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rulelang import ir
from rulelang.decision import ACTIONS, Decision
from rulelang.errors import FactError
from rulelang.program import CompiledPolicy

# A model's answer is shared by both versions when they declare it with the same result.
AnswerKey = tuple[str, str]  # (model name, result type)
Answers = Mapping[AnswerKey, Any]
Draw = Callable[[], Answers | None]  # fixed answers for the next record; None: models answer
Reject = Callable[[str, "Record", str, Any], None]  # (source, record, rejected by, error)
_NUMERIC = frozenset({"number", "int", "money", "percent"})
_SET_ASIDE = {"both": "bad", "old": "rejected_by_old", "new": "rejected_by_new"}


# ---- the inputs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One input to decide with both versions.

    ``error`` says why it could not be read (bad JSON); ``answers`` are fixed model
    answers, or None when the bound models answer.
    """

    origin: str
    facts: Any
    error: str | None = None
    answers: Answers | None = None


@dataclass(frozen=True, slots=True)
class Versions:
    """The two versions compared, and the files they came from."""

    old: CompiledPolicy
    new: CompiledPolicy
    old_file: str = "OLD"
    new_file: str = "NEW"

    def answer_models(self) -> dict[AnswerKey, ir.Model]:
        """Every distinct model the versions declare (NEW's declaration first)."""
        models = [*self.new.policy.models, *self.old.policy.models]
        return {(m.name, m.result): m for m in reversed(models)}


def answers_for(policy: CompiledPolicy, answers: Answers) -> dict[str, Any]:
    """The fixed answers in the form ``decide(replace_models=...)`` takes."""
    return {m.name: answers.get((m.name, m.result)) for m in policy.policy.models}


def file_records(path: Path, versions: Versions, draw: Draw) -> Iterator[Record]:
    """The records of a JSONL or CSV file (flat rows read as NEW's one facts block)."""
    from rulelang.inputs import read_facts

    for number, facts, error, _ in read_facts(path, versions.new.policy):
        yield Record(f"{path.name} line {number}", facts, error, draw())


def log_records(log: Any, policy: str, versions: Versions, draw: Draw) -> Iterator[Record]:
    """The facts of a decision log's decisions of ``policy``, in log order.

    Unless the models are bound, each record replays the answers the log recorded;
    models it did not record (not asked then) get ``draw``'s answers.
    """
    models = versions.answer_models()
    for logged in log.decisions(policy=policy):
        answers = draw()
        if answers is not None:
            answers = {**answers, **recorded_answers(logged.record, models)}
        origin = f"log seq {logged.seq} (decision {logged.decision_id})"
        yield Record(origin, logged.facts, None, answers)


def recorded_answers(
    record: Mapping[str, Any], models: Mapping[AnswerKey, ir.Model]
) -> dict[AnswerKey, Any]:
    """The first answer a decision record shows for each model, in run-time form."""
    from rulelang.runtime import coerce

    first: dict[str, Any] = {}
    for call in record.get("models") or ():
        first.setdefault(call.get("model"), call.get("value"))
    found: dict[AnswerKey, Any] = {}
    for key, model in models.items():
        if key[0] in first:
            value, problem = coerce(first[key[0]], model.result)
            found[key] = None if problem else value  # a recorded non-answer stays one
    return found


class AnswerSampler:
    """Seeded model answers for records that bring none: the same for both versions.

    About one answer in five is no answer; the rest favour the constants the
    policies compare the model with (and just either side), as invariants do.
    """

    def __init__(self, versions: Versions, seed_value: int) -> None:
        from rulelang.review.invariants import boundaries

        self.rng = random.Random(seed_value)
        self.models = versions.answer_models()
        near = {**boundaries(versions.old.policy), **boundaries(versions.new.policy)}
        self.near = {
            key: _answer_edges(m, near.get(("model", m.name), set()))
            for key, m in self.models.items()
        }

    def __call__(self) -> dict[AnswerKey, Any]:
        return {key: self._draw(model, self.near[key]) for key, model in self.models.items()}

    def _draw(self, model: ir.Model, near: list[Any]) -> Any:
        r = self.rng.random()
        if r < 0.2:
            return None
        if model.result == "bool":
            return r < 0.6
        if model.result == "text":
            return self.rng.choice(near or [""])
        if near and r < 0.6:
            return self.rng.choice(near)
        if model.result == "score":
            return self.rng.uniform(0.0, 1.0)
        low, high = (near[0], near[-1]) if near else (0.0, 0.0)
        return self.rng.uniform(low - 1, high + 1)


def _answer_edges(model: ir.Model, values: set[Any]) -> list[Any]:
    if model.result == "text":
        return sorted(str(v) for v in values)
    if model.result == "bool":
        return []
    edges = {
        float(v) + d for v in values if not isinstance(v, (str, bool)) for d in (-1e-6, 0.0, 1e-6)
    }
    return sorted(e for e in edges if model.result != "score" or 0.0 <= e <= 1.0)


def no_answers() -> None:
    """The ``Draw`` for bound models: the models answer."""
    return None


# ---- deciding ----------------------------------------------------------------------------


def decide_one(policy: CompiledPolicy, record: Record) -> Decision | None:
    """``record`` decided by ``policy``: rejected facts give the rejection's record."""
    if record.error is not None:
        return None
    replace = answers_for(policy, record.answers) if record.answers is not None else None
    try:
        return policy.decide(record.facts, replace_models=replace)
    except FactError as exc:
        return policy.reject(exc)


def decide_chunk(policy: CompiledPolicy, chunk: list[Record]) -> list[Decision | None]:
    """A chunk decided by ``policy``; bound models are asked once per chunk."""
    bound = [r.facts for r in chunk if r.error is None and r.answers is None]
    batched = iter(policy.decide_many(bound, batch_size=len(bound))) if bound else iter(())
    return [
        next(batched) if r.error is None and r.answers is None else decide_one(policy, r)
        for r in chunk
    ]


def rejected(decision: Decision) -> bool:
    return decision.error is not None and decision.error.get("type") == "bad_facts"


# ---- the report's parts ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    file: str
    name: str
    version: str
    policy_hash: str

    @classmethod
    def of(cls, file: str, policy: CompiledPolicy) -> PolicyVersion:
        return cls(file, policy.name, policy.version, policy.policy_hash)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "policy": self.name,
            "version": self.version,
            "policy_hash": self.policy_hash,
        }


@dataclass(frozen=True, slots=True)
class Edit:
    """A declaration added, removed or changed; ``parts`` says what changed."""

    kind: str  # "facts field" | "model" | "output" | "rule" | "ensure" | "override"
    name: str
    change: str  # "added" | "removed" | "changed"
    parts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "change": self.change,
            "parts": list(self.parts),
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """One version's decision, as an example shows it."""

    action: str  # allow | review | block, or "rejected" (bad facts)
    outputs: tuple[tuple[str, Any], ...]
    reasons: tuple[str, ...]
    review_by: str
    fired: tuple[str, ...]
    error: str = ""

    @classmethod
    def of(cls, decision: Decision) -> Outcome:
        action = "rejected" if rejected(decision) else decision.action
        return cls(
            action,
            tuple(decision.outputs.items()),
            decision.reasons,
            decision.review_by,
            decision.fired,
            error_text(decision.error),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "outputs": dict(self.outputs),
            "reasons": list(self.reasons),
            "review_by": self.review_by,
            "fired": list(self.fired),
            "error": self.error or None,
        }


def error_text(error: Mapping[str, Any] | None) -> str:
    if error is None:
        return ""
    if error.get("type") == "bad_facts":
        issues = error.get("issues", [])
        return "bad facts: " + "; ".join(
            f"{i['path'] or 'facts'}: expected {i['expected']}, got {i['got']}" for i in issues
        )
    return str(error.get("message", error))


@dataclass(frozen=True, slots=True)
class Example:
    """A record whose decision changed (or that one version rejected)."""

    kind: str
    origin: str
    given: str
    old: Outcome
    new: Outcome

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "origin": self.origin,
            "given": self.given,
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class OutputShift:
    """How one output moved over the decisions where it changed."""

    name: str
    kind: str
    changed: int
    up: int = 0
    down: int = 0
    total: Any = None  # numeric outputs: sum of new - old
    mean: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.name,
            "type": self.kind,
            "changed": self.changed,
            "up": self.up,
            "down": self.down,
            "total_shift": self.total,
            "mean_shift": self.mean,
        }


@dataclass(frozen=True, slots=True)
class RuleShift:
    """A rule (or constraint) whose firing differs between the versions."""

    name: str
    kind: str  # "rule" | "ensure"
    old_only: int  # decisions where it fired in OLD, not in NEW
    new_only: int
    in_changed: int  # of those, the decisions that changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.name,
            "kind": self.kind,
            "fired_old_only": self.old_only,
            "fired_new_only": self.new_only,
            "in_changed_decisions": self.in_changed,
        }


@dataclass(frozen=True, slots=True)
class SourceDiff:
    """The comparison over one source of facts."""

    source: str
    read: int
    compared: int
    changed: int
    bad: int  # unreadable, or rejected by both versions
    rejected_by_old: int
    rejected_by_new: int
    actions: tuple[tuple[str, str, int], ...]  # (old, new, decisions), every pair
    outputs: tuple[OutputShift, ...]
    reasons_changed: int
    reasons_added: tuple[tuple[str, int], ...]
    reasons_removed: tuple[tuple[str, int], ...]
    review_by: tuple[tuple[str, str, int], ...]  # (old role, new role, decisions)
    rules: tuple[RuleShift, ...]
    kinds: tuple[tuple[str, int], ...]  # kind of change (or "rejected by old only"), records
    examples: tuple[Example, ...]

    def to_dict(self) -> dict[str, Any]:
        matrix = {a: {b: 0 for b in ACTIONS} for a in ACTIONS}
        for a, b, n in self.actions:
            matrix[a][b] = n
        return {
            "source": self.source,
            "read": self.read,
            "compared": self.compared,
            "changed": self.changed,
            "bad": self.bad,
            "rejected_by_old": self.rejected_by_old,
            "rejected_by_new": self.rejected_by_new,
            "actions": matrix,
            "outputs": [o.to_dict() for o in self.outputs],
            "reasons": {
                "changed": self.reasons_changed,
                "added": dict(self.reasons_added),
                "removed": dict(self.reasons_removed),
            },
            "review_by": [{"old": a, "new": b, "count": n} for a, b, n in self.review_by],
            "rules": [r.to_dict() for r in self.rules],
            "changes": dict(self.kinds),
            "examples": [e.to_dict() for e in self.examples],
        }


@dataclass(frozen=True, slots=True)
class Gate:
    """``--max-changed``: a count (``10``) or a share of the compared decisions (``2.5%``)."""

    text: str
    count: int | None = None
    percent: Decimal | None = None

    @classmethod
    def parse(cls, text: str) -> Gate:
        raw = text.strip()
        try:
            if raw.endswith("%"):
                share = Decimal(raw[:-1])
                if share.is_finite() and 0 <= share <= 100:
                    return cls(raw, percent=share)
            elif int(raw) >= 0:
                return cls(raw, count=int(raw))
        except (ValueError, InvalidOperation):
            pass
        raise ValueError(f"--max-changed takes a count or a percentage (10 or 2.5%), not {text!r}")

    def exceeded(self, changed: int, compared: int) -> bool:
        if self.count is not None:
            return changed > self.count
        return compared > 0 and Decimal(changed) * 100 > (self.percent or 0) * compared


@dataclass(frozen=True, slots=True)
class DiffReport:
    """Everything ``rulelang diff`` reports."""

    old: PolicyVersion
    new: PolicyVersion
    edits: tuple[Edit, ...]
    sources: tuple[SourceDiff, ...]
    gate: Gate | None = None

    @property
    def compared(self) -> int:
        return sum(s.compared for s in self.sources)

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.sources)

    @property
    def exceeded(self) -> bool:
        """Whether the changed decisions, over all sources, are more than the gate allows."""
        return self.gate is not None and self.gate.exceeded(self.changed, self.compared)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "edits": [e.to_dict() for e in self.edits],
            "sources": [s.to_dict() for s in self.sources],
            "compared": self.compared,
            "changed": self.changed,
            "max_changed": self.gate.text if self.gate else None,
            "exceeded": self.exceeded,
        }


# ---- comparing ---------------------------------------------------------------------------


def compare(
    versions: Versions,
    records: Iterable[Record],
    source: str,
    *,
    keep: int = 3,
    batch_size: int = 256,
    reject: Reject | None = None,
) -> SourceDiff:
    """Decide every record with both versions, a batch at a time, and count."""
    tally = _Tally(versions, source, keep, reject)
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, batch_size)):
        olds, news = decide_chunk(versions.old, chunk), decide_chunk(versions.new, chunk)
        for record, old, new in zip(chunk, olds, news, strict=True):
            tally.add(record, old, new)
    return tally.result()


def compare_generated(
    versions: Versions,
    count: int,
    seed_value: int = 0,
    *,
    keep: int = 3,
    reject: Reject | None = None,
) -> SourceDiff:
    """Decide ``count`` facts and model answers generated from NEW's declarations.

    Models that only OLD declares (or declares with another result) get generated
    answers too. Hypothesis may stop early when the declarations allow fewer
    distinct examples; the report's ``read`` says how many there were.
    """
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis.errors import Unsatisfiable

    tally = _Tally(versions, f"generated (seed {seed_value})", keep, reject)

    @settings(
        max_examples=max(count, 1),
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @seed(seed_value)
    @given(generated_strategy(versions))
    def decide_both(example: tuple[Any, Answers]) -> None:
        facts, answers = example
        record = Record(f"generated #{tally.counts['read'] + 1}", facts, None, answers)
        tally.add(record, decide_one(versions.old, record), decide_one(versions.new, record))

    if count > 0:
        with contextlib.suppress(Unsatisfiable):  # the declarations admit no input at all
            decide_both()
    return tally.result()


def generated_strategy(versions: Versions) -> Any:
    """(facts, answers keyed by ``AnswerKey``): NEW's examples plus OLD's other models."""
    from hypothesis import strategies as st

    from rulelang.review.invariants import answer_strategy, boundaries, examples_strategy

    new = versions.new.policy
    near = boundaries(versions.old.policy)
    shared = {(m.name, m.result) for m in new.models}
    extra = st.fixed_dictionaries(
        {
            (m.name, m.result): answer_strategy(m, near.get(("model", m.name), set()))
            for m in versions.old.policy.models
            if (m.name, m.result) not in shared
        }
    )

    def keyed(example: Any) -> tuple[Any, Answers]:
        (facts, answers), others = example
        return facts, {**{(m.name, m.result): answers[m.name] for m in new.models}, **others}

    return st.tuples(examples_strategy(new), extra).map(keyed)


class _Shift:
    """One output's running shift (internal to ``_Tally``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.changed = self.up = self.down = 0
        self.total: Any = None

    def add(self, old: Any, new: Any) -> None:
        self.changed += 1
        delta = _delta(old, new) if self.kind in _NUMERIC else None
        if delta is None:
            return
        self.up, self.down = self.up + (delta > 0), self.down + (delta < 0)
        self.total = delta if self.total is None else _sum(self.total, delta)

    def result(self, name: str) -> OutputShift:
        mean = None if self.total is None else _mean(self.total, self.changed)
        return OutputShift(name, self.kind, self.changed, self.up, self.down, self.total, mean)


def _delta(old: Any, new: Any) -> Any:
    if not all(
        isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in (old, new)
    ):
        return None
    if isinstance(old, Decimal) != isinstance(new, Decimal):
        return float(new) - float(old)
    return new - old


def _sum(a: Any, b: Any) -> Any:
    return a + b if isinstance(a, Decimal) == isinstance(b, Decimal) else float(a) + float(b)


def _mean(total: Any, count: int) -> Any:
    if isinstance(total, Decimal):
        return (total / count).quantize(Decimal("0.0001")).normalize()
    return total / count


class _Tally:
    """One source's counts, filled as decisions stream past (internal to ``compare``)."""

    def __init__(self, versions: Versions, source: str, keep: int, reject: Reject | None) -> None:
        self.versions, self.source, self.keep, self.reject = versions, source, keep, reject
        old_kinds = {o.name: o.type.kind for o in versions.old.policy.outputs}
        self.outputs = [
            (o.name, o.type.kind if old_kinds[o.name] in _NUMERIC else "text")
            for o in versions.new.policy.outputs
            if o.name in old_kinds
        ]
        self.counts: Counter[str] = Counter()
        self.actions: Counter[tuple[str, str]] = Counter()
        self.shifts: dict[str, _Shift] = {}
        self.added: Counter[str] = Counter()
        self.removed: Counter[str] = Counter()
        self.roles: Counter[tuple[str, str]] = Counter()
        self.old_only: Counter[str] = Counter()
        self.new_only: Counter[str] = Counter()
        self.in_changed: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.examples: dict[str, list[Example]] = {}

    def add(self, record: Record, old: Decision | None, new: Decision | None) -> None:
        self.counts["read"] += 1
        if old is None or new is None:
            self._set_aside(record, "both", {"type": "bad_record", "message": record.error})
        elif rejected(old) or rejected(new):
            by = "both" if rejected(old) and rejected(new) else "old" if rejected(old) else "new"
            self._set_aside(record, by, (old if rejected(old) else new).error, old, new)
        else:
            self._compare(record, old, new)

    def _set_aside(
        self,
        record: Record,
        by: str,
        error: Any,
        old: Decision | None = None,
        new: Decision | None = None,
    ) -> None:
        self.counts[_SET_ASIDE[by]] += 1
        if self.reject is not None:
            self.reject(self.source, record, by, error)
        if by != "both" and old is not None and new is not None:
            self._note(f"rejected by {by} only", record, old, new)

    def _compare(self, record: Record, old: Decision, new: Decision) -> None:
        self.counts["compared"] += 1
        self.actions[(old.action, new.action)] += 1
        moved = set(old.fired).symmetric_difference(new.fired)
        for name in moved:
            (self.old_only if name in old.fired else self.new_only)[name] += 1
        kinds = self._changes(old, new)
        if kinds:
            self.counts["changed"] += 1
            self.in_changed.update(moved)
            for kind in kinds:
                self._note(kind, record, old, new)

    def _changes(self, old: Decision, new: Decision) -> list[str]:
        kinds = [f"action {old.action} -> {new.action}"] if old.action != new.action else []
        if (old.error is None) != (new.error is None):
            kinds.append("error")
        elif old.error is None:
            kinds += [
                f"output {name}"
                for name, kind in self.outputs
                if self._shifted(name, kind, old.outputs[name], new.outputs[name])
            ]
        if old.reasons != new.reasons:
            kinds.append("reasons")
            self.added.update(set(new.reasons) - set(old.reasons))
            self.removed.update(set(old.reasons) - set(new.reasons))
        if old.review_by != new.review_by:
            kinds.append("review_by")
            self.roles[(old.review_by, new.review_by)] += 1
        return kinds

    def _shifted(self, name: str, kind: str, old: Any, new: Any) -> bool:
        if old == new:
            return False
        self.shifts.setdefault(name, _Shift(kind)).add(old, new)
        return True

    def _note(self, kind: str, record: Record, old: Decision, new: Decision) -> None:
        self.kinds[kind] += 1
        kept = self.examples.setdefault(kind, [])
        if len(kept) < self.keep:
            given = given_for(self.versions, record, old, new)
            kept.append(Example(kind, record.origin, given, Outcome.of(old), Outcome.of(new)))

    def result(self) -> SourceDiff:
        c, kinds = self.counts, sorted(self.kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        return SourceDiff(
            source=self.source,
            read=c["read"],
            compared=c["compared"],
            changed=c["changed"],
            bad=c["bad"],
            rejected_by_old=c["rejected_by_old"],
            rejected_by_new=c["rejected_by_new"],
            actions=tuple((a, b, self.actions[(a, b)]) for a in ACTIONS for b in ACTIONS),
            outputs=tuple(self.shifts[n].result(n) for n, _ in self.outputs if n in self.shifts),
            reasons_changed=self.kinds["reasons"],
            reasons_added=tuple(self.added.most_common()),
            reasons_removed=tuple(self.removed.most_common()),
            review_by=tuple((a, b, n) for (a, b), n in self.roles.most_common()),
            rules=self._rules(),
            kinds=tuple(kinds),
            examples=tuple(e for kind in sorted(self.kinds) for e in self.examples[kind]),
        )

    def _rules(self) -> tuple[RuleShift, ...]:
        ensures = {e.name for p in (self.versions.old, self.versions.new) for e in p.policy.ensures}
        names = sorted(
            set(self.old_only) | set(self.new_only),
            key=lambda n: (-(self.old_only[n] + self.new_only[n]), n),
        )
        return tuple(
            RuleShift(
                n,
                "ensure" if n in ensures else "rule",
                self.old_only[n],
                self.new_only[n],
                self.in_changed[n],
            )
            for n in names
        )


def given_for(versions: Versions, record: Record, old: Decision, new: Decision) -> str:
    """The record as a pasteable `given ... with ...` line, in NEW's terms if NEW takes it."""
    from rulelang.review.invariants import given_line

    policy, decision = (versions.old, old) if rejected(new) else (versions.new, new)
    try:
        facts = policy.validator.validate(record.facts)
    except FactError:
        return ""
    present = {
        block: {k: v for k, v in values.items() if v is not None} for block, values in facts.items()
    }
    answers = (
        answers_for(policy, record.answers)
        if record.answers is not None
        else {call.model: call.value for call in reversed(decision.models)}
    )
    return given_line(policy.policy, (present, answers), decision)


# ---- what the versions declare differently ---------------------------------------------------


def edits(old: ir.Policy, new: ir.Policy) -> tuple[Edit, ...]:
    """Declarations added, removed or changed, compared by meaning, not by layout."""
    parts: list[Callable[[ir.Policy], dict[str, dict[str, Any]]]] = [
        _fields,
        _models,
        _outputs,
        _rules,
        _ensures,
        _overrides,
    ]
    kinds = ("facts field", "model", "output", "rule", "ensure", "override")
    return tuple(
        e for kind, of in zip(kinds, parts, strict=True) for e in _edited(kind, of(old), of(new))
    )


def _edited(
    kind: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[Edit]:
    found = [Edit(kind, name, "added") for name in new if name not in old]
    found += [Edit(kind, name, "removed") for name in old if name not in new]
    for name in (n for n in new if n in old):
        changed = tuple(p for p, value in new[name].items() if old[name].get(p) != value)
        if changed:
            found.append(Edit(kind, name, "changed", changed))
    return found


def shape(node: Any) -> Any:
    """A node's meaning without its source positions: equal when two versions say the same."""
    if is_dataclass(node) and not isinstance(node, type):
        return (
            type(node).__name__,
            *(shape(getattr(node, f.name)) for f in fields(node) if f.name != "span"),
        )
    if isinstance(node, tuple):
        return tuple(shape(item) for item in node)
    return node


def _fields(policy: ir.Policy) -> dict[str, dict[str, Any]]:
    return {
        f"{block.name}.{info.name}": {
            "type": shape(info.type),
            "range": (info.low, info.high, info.high_inclusive),
            "optional": info.optional,
        }
        for block in policy.facts
        for info in block.fields
    }


def _models(policy: ir.Policy) -> dict[str, dict[str, Any]]:
    return {
        m.name: {
            "parameters": m.params,
            "result": m.result,
            "min_confidence": m.min_confidence,
            "timeout": m.timeout_ms,
            "fallback": (m.has_fallback, m.fallback),
        }
        for m in policy.models
    }


def _outputs(policy: ir.Policy) -> dict[str, dict[str, Any]]:
    return {o.name: {"type": shape(o.type), "start": shape(o.init)} for o in policy.outputs}


def _rules(policy: ir.Policy) -> dict[str, dict[str, Any]]:
    return {
        r.name: {
            "title": r.title,
            "priority": r.priority,
            "condition": shape(r.cond),
            "then": shape(r.then),
            "if unknown": shape(r.if_unknown),
        }
        for r in policy.rules
    }


def _ensures(policy: ir.Policy) -> dict[str, dict[str, Any]]:
    return {
        e.name: {"title": e.title, "condition": shape(e.cond), "otherwise": shape(e.otherwise)}
        for e in policy.ensures
    }


def _overrides(policy: ir.Policy) -> dict[str, dict[str, Any]]:
    return {
        f"{o.output} by {o.role}": {"bounds": shape((o.low, o.high, o.high_inclusive))}
        for o in policy.overrides
    }


def diff_report(
    versions: Versions, sources: Iterable[SourceDiff], gate: Gate | None = None
) -> DiffReport:
    return DiffReport(
        PolicyVersion.of(versions.old_file, versions.old),
        PolicyVersion.of(versions.new_file, versions.new),
        edits(versions.old.policy, versions.new.policy),
        tuple(sources),
        gate,
    )
