"""The review queue: approve a decision, or override one of its outputs.

Input: a ``DecisionLog`` and a ``policy_loader(policy_hash, source) -> policy``.
Output: review events appended to the log (``ReviewEvent``, ``Override``).

Decisions whose action is ``review`` wait for their ``review_by`` role. The item is
closed by that role (an approval, or an accepted override of any output) or by a role
with a right over `action` (approving, or overriding the action); an override of
another output by another role leaves it open (``ReviewEvent.closes``). Every
override is put to the policy that made the decision (``policy.check_override``),
recompiled from the source stored in the log: refusals are recorded too, then raised
as ``OverrideRefused``; a value that does not parse is a ``UsageError`` and nothing is
recorded. The decision row is never changed; ``effective_record`` shows it with
accepted overrides applied.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from rulelang.decision import DecisionRecord, Override, OverrideCheck
from rulelang.store.errors import OverrideRefused, ReviewConflict, ReviewError
from rulelang.store.log import DecisionLog
from rulelang.store.records import LoggedDecision, NewReview, ReviewEvent


class CheckingPolicy(Protocol):
    """What the review desk needs from a compiled policy."""

    def check_override(
        self, record: DecisionRecord, facts: dict[str, Any], output: str, value: Any, role: str
    ) -> OverrideCheck:
        """The policy's verdict; raises ``UsageError`` when ``value`` does not parse as
        the output's type (nothing to record: the person mistyped)."""
        ...


PolicyLoader = Callable[[str, str], CheckingPolicy]


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One decision in the review queue."""

    decision_id: str
    policy: str
    version: str
    review_by: str
    reasons: tuple[str, ...]
    outputs: dict[str, Any]
    status: str  # "open" | "approved" | "overridden"
    at: str
    seq: int

    @classmethod
    def of(cls, decision: LoggedDecision, status: str) -> ReviewItem:
        record = decision.record
        return cls(
            decision.decision_id, decision.policy, decision.version, decision.review_by,
            tuple(dict.fromkeys(record["reasons"])), dict(record["outputs"]),
            status, decision.at, decision.seq,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.decision_id,
            "policy": self.policy,
            "version": self.version,
            "review_by": self.review_by,
            "reasons": list(self.reasons),
            "outputs": self.outputs,
            "status": self.status,
            "at": self.at,
        }


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A decision with everything reviewers did to it."""

    decision: LoggedDecision
    events: tuple[ReviewEvent, ...]

    @property
    def status(self) -> str:
        return status_of(self.decision, self.events)

    @property
    def effective_record(self) -> DecisionRecord:
        return effective_record(self.decision.record, self.events)


def status_of(decision: LoggedDecision, events: Iterable[ReviewEvent]) -> str:
    """ "open", "approved" or "overridden" (the first closing event), or "not queued"."""
    closing = closing_event(decision, events)
    if closing is not None:
        return closing.kind
    return "open" if decision.action == "review" else "not queued"


def closing_event(decision: LoggedDecision, events: Iterable[ReviewEvent]) -> ReviewEvent | None:
    """The first event that closed the decision's review, if any."""
    return next((e for e in events if e.closes(decision.review_by)), None)


def effective_record(record: DecisionRecord, events: Iterable[ReviewEvent]) -> DecisionRecord:
    """The record with every accepted override applied, in log order."""
    out = copy.deepcopy(record)
    for event in events:
        if event.kind != "overridden":
            continue
        if event.output == "action":
            out["action"] = event.new
        else:
            out["outputs"][event.output] = event.new
    return out


class ReviewDesk:
    """Work the review queue of one log."""

    def __init__(self, log: DecisionLog, policy_loader: PolicyLoader | None = None) -> None:
        self.log = log
        self._loader = policy_loader
        self._policies: dict[str, CheckingPolicy] = {}

    def list_items(
        self, role: str | None = None, status: str = "open", limit: int | None = None
    ) -> list[ReviewItem]:
        """Queued decisions for ``role`` (all roles when None); status open/closed/all."""
        return [ReviewItem.of(d, s) for d, s in self.log.queue(role, status, limit)]

    def show(self, decision_id: str) -> CaseFile:
        """The decision and its review history; raises ``UnknownDecision``."""
        decision = self.log.require(decision_id)
        return CaseFile(decision, tuple(self.log.reviews(decision_id)))

    def approve(
        self, decision_id: str, person: str, role: str, note: str = "", *, audit: bool = False
    ) -> ReviewEvent:
        """Agree with the policy's decision; closes the review item.

        ``audit`` also accepts a decision no rule sent to review: a person checking a
        random sample, so that the labels are not only of the cases rules routed. A role
        other than the queue's may approve when the policy grants it a right over
        `action` (checked with the policy loader, when there is one).
        """
        _need(person=person, role=role)
        action_right = self._may_set_action(self.log.require(decision_id), role)

        def guard(decision: LoggedDecision, events: list[ReviewEvent]) -> None:
            _check_approvable(decision, events, role, audit, action_right)

        event = NewReview(decision_id, "approved", person, role, note=note)
        return self.log.add_review(event, guard)

    def override(
        self, decision_id: str, output: str, value: Any, person: str, role: str, reason: str
    ) -> Override:
        """Change one output, if the policy grants ``role`` that right within its bounds.

        Raises ``OverrideRefused`` (after recording the refusal) when the policy says no.
        """
        _need(person=person, role=role, reason=reason, output=output)
        case = self.show(decision_id)
        effective = case.effective_record
        old = effective["action"] if output == "action" else effective["outputs"].get(output)
        policy = self._policy(case.decision.policy_hash)
        check = policy.check_override(effective, case.decision.facts, output, value, role)
        if not check.accepted:
            message = check.message or "refused by the policy"
            refused = NewReview(decision_id, "refused", person, role, output, old, value, reason,
                                message)  # fmt: skip
            raise OverrideRefused(self.log.add_review(refused).to_override())
        new = value if check.value is None else check.value
        event = NewReview(decision_id, "overridden", person, role, output, old, new, reason)
        return self.log.add_review(event, _unchanged_since(case.events)).to_override()

    def _may_set_action(self, decision: LoggedDecision, role: str) -> bool:
        """Whether ``role``, not the queue's, holds a right over `action` on this decision."""
        if not decision.review_by or role == decision.review_by or self._loader is None:
            return False
        try:
            policy = self._policy(decision.policy_hash)
        except ReviewError:  # no source to check with: only the queue's role may approve
            return False
        record = decision.record
        return policy.check_override(
            record, decision.facts, "action", record["action"], role
        ).accepted

    def _policy(self, policy_hash: str) -> CheckingPolicy:
        if policy_hash not in self._policies:
            self._policies[policy_hash] = self._load(policy_hash)
        return self._policies[policy_hash]

    def _load(self, policy_hash: str) -> CheckingPolicy:
        if self._loader is None:
            raise ReviewError("this review desk has no policy loader, so it cannot check overrides")
        stored = self.log.policy_source(policy_hash)
        if stored is None:
            raise ReviewError(
                f"the log holds no source for policy {policy_hash}, so the override cannot be "
                "checked; log the policy (DecisionLog.add_policy) when running it"
            )
        try:
            policy = self._loader(policy_hash, stored.source)
        except ReviewError:
            raise
        except Exception as exc:  # the loader is the caller's: report, don't crash
            raise ReviewError(f"cannot load policy {policy_hash} from the log: {exc}") from exc
        compiled_hash = getattr(policy, "policy_hash", policy_hash)
        if compiled_hash != policy_hash:
            raise ReviewError(
                f"the logged source of policy {policy_hash} now compiles to {compiled_hash}; "
                "refusing to check an override against a different policy"
            )
        return policy


def _check_approvable(
    decision: LoggedDecision, events: list[ReviewEvent], role: str, audit: bool, action_right: bool
) -> None:
    did = decision.decision_id
    routed = decision.action == "review"
    if not routed and not audit:
        raise ReviewError(
            f"decision {did} was not routed to review (its action is "
            f"{decision.action}); there is nothing to approve (approve it as an audit "
            "to record a check of a decision no rule routed)"
        )
    closing = closing_event(decision, events)
    if closing is not None:
        raise ReviewError(
            f"decision {did} is already {closing.kind} by {closing.person} "
            f"({closing.role}) at {closing.at}"
        )
    if routed and decision.review_by and role != decision.review_by and not action_right:
        raise ReviewError(
            f"decision {did} is queued for {decision.review_by}, not for {role} "
            "(nor does the policy give that role a right over `action`)"
        )


def _unchanged_since(seen: tuple[ReviewEvent, ...]) -> Callable[..., None]:
    """A guard that refuses the write if another reviewer acted meanwhile."""

    def guard(decision: LoggedDecision, events: list[ReviewEvent]) -> None:
        if len(events) != len(seen):
            raise ReviewConflict(
                f"decision {decision.decision_id} changed while the override was checked "
                f"({events[-1].kind} by {events[-1].person}); look at it again and retry"
            )

    return guard


def _need(**fields: str) -> None:
    missing = [name for name, value in fields.items() if not str(value).strip()]
    if missing:
        raise ReviewError(f"a review action needs a non-empty {', '.join(missing)}")
