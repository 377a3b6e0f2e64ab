"""Explain a decision in words an analyst reads.

Input: a decision record (``DecisionRecord``, from a ``.jsonl`` file or from the log),
the ``ValueTypes`` of the policy that made it when that policy is at hand, and for
``render_history`` its review events. Output: plain text, values written as the
policy writes them (``15%``, ``628.90``).
``render_record`` needs no log: ``rulelang explain FILE.jsonl`` calls it directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rulelang.decision import (
    BAD_FACTS,
    EVALUATION,
    DecisionRecord,
    ErrorRecord,
    FactIssueRecord,
    FiringRecord,
    ModelCallRecord,
    Outcome,
    outcome_of,
)
from rulelang.errors import RuleError
from rulelang.program import compile_file
from rulelang.render import NO_TYPES, ValueTypes, show_value
from rulelang.source import SourceFile
from rulelang.store.records import ReviewEvent
from rulelang.types import Type

if TYPE_CHECKING:
    from rulelang.store.log import DecisionLog

# Exactly the Outcome set: a test holds the two together.
OUTCOME_PHRASES: Mapping[Outcome, str] = {
    Outcome.FIRED: "fired",
    Outcome.SKIPPED: "did not fire: its condition was false",
    Outcome.UNKNOWN: "condition unknown (a model had no answer): its `if unknown` branch ran",
    Outcome.HELD: "held",
    Outcome.STEPPED_IN: "did not hold, so its `otherwise` ran",
    Outcome.UNSATISFIABLE: "still failed after every constraint ran, so the decision was blocked",
}
_SOURCES = {
    "model": "from the model",
    "cache": "from the cache",
    "fallback": "the fallback value",
    "test": "given by a test",
    "none": "no value",
}


def render_record(record: DecisionRecord, types: ValueTypes = NO_TYPES) -> str:
    """The whole record: outcome, outputs, rules with what they read and changed, models."""
    sections = [
        _heading(record),
        _outcome(record),
        _outputs(record, types),
        _error(record["error"]),
        _rules(record, types),
        _models(record["models"], types),
    ]
    return "\n\n".join(s for s in sections if s)


def explain_logged(log: DecisionLog, decision_id: str, types: ValueTypes | None = None) -> str:
    """A logged decision: the record, its facts, where it sits in the log, its reviews.

    Values are typed by the policy the log stored for the decision (``types`` given
    saves compiling it again).
    """
    decision = log.require(decision_id)
    if types is None:
        types = logged_types(log, decision.policy_hash)
    events = list(log.reviews(decision_id))
    run = f", run {decision.run_id} line {decision.line}" if decision.run_id else ""
    where = f"Logged at {decision.at} (seq {decision.seq}{run})"
    parts = [
        render_record(decision.record, types),
        where,
        render_facts(decision.facts, types),
        render_history(events, decision.record, types),
    ]
    return "\n\n".join(p for p in parts if p)


def logged_types(log: DecisionLog, policy_hash: str) -> ValueTypes:
    """The value types of the policy the log stored under ``policy_hash``; none when the
    log has no source for it, or the source no longer compiles (then values show as
    the record holds them, which is still right, only not in the policy's units)."""
    stored = log.policy_source(policy_hash)
    if stored is None:
        return NO_TYPES
    try:
        return ValueTypes.of(compile_file(SourceFile(f"<log {policy_hash}>", stored.source)))
    except RuleError:
        return NO_TYPES


def render_history(
    events: Iterable[ReviewEvent],
    record: DecisionRecord | None = None,
    types: ValueTypes = NO_TYPES,
) -> str:
    """What reviewers did, in order, and the outputs as they stand after overrides."""
    events = list(events)
    if not events:
        waiting = record is not None and record["action"] == "review"
        role = (record["review_by"] if record is not None else "") or "a reviewer"
        return f"Review: waiting for {role}." if waiting else "Review: none."
    lines = ["Review history:", *(f"  {_event_line(e, types)}" for e in events)]
    standing = _standing(events, types)
    if standing:
        lines += ["Now, after overrides (the logged decision itself is unchanged):", *standing]
    return "\n".join(lines)


def render_facts(facts: Mapping[str, Any], types: ValueTypes = NO_TYPES) -> str:
    """The facts the decision read, one field a line."""
    flat = flatten(facts)
    if not flat:
        return ""
    lines = (f"  {k} = {show_value(v, types.fact(k))}" for k, v in flat.items())
    return "\n".join(["Facts:", *lines])


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted names: ``{"item": {"cost": 1}}`` -> ``{"item.cost": 1}``."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            out.update(flatten(item, name + "."))
        else:
            out[name] = item
    return out


def reasons_of(record: DecisionRecord) -> list[str]:
    """The record's reasons, each once, in the order first given (two rules may give
    the same reason; a log written before reasons were deduplicated may repeat one)."""
    return list(dict.fromkeys(str(r) for r in record["reasons"]))


def _heading(record: DecisionRecord) -> str:
    phash = record["policy_hash"]
    short = phash if len(phash) <= 23 else phash[:23] + "…"
    return (
        f"Decision {record['id']}\nPolicy {record['policy']} version {record['version']} ({short})"
    )


def _outcome(record: DecisionRecord) -> str:
    action = record["action"]
    role = record["review_by"]
    line = f"Action: {action}" + (f", for {role} to review" if action == "review" and role else "")
    reasons = reasons_of(record)
    if not reasons:
        return line + ("" if action != "allow" else " (no rule raised it)")
    return "\n".join([line, "Reasons:", *(f"  - {r}" for r in reasons)])


def _outputs(record: DecisionRecord, types: ValueTypes) -> str:
    outputs = record["outputs"]
    if not outputs:
        return ""
    lines = (f"  {k} = {show_value(v, types.output(k))}" for k, v in outputs.items())
    return "\n".join(["Outputs:", *lines])


def _error(error: ErrorRecord | None) -> str:
    """What went wrong, by the error's kind: rejected facts, or a failed evaluation."""
    if error is None:
        return ""
    if error["type"] == BAD_FACTS:
        issues = error.get("issues", [])
        return "\n".join(["The facts were rejected, so no rule ran:", *map(_bad_field, issues)])
    if error["type"] == EVALUATION:
        where = _where(error)
        return (
            f"Evaluation failed{where}: {error.get('message', 'no message')}\n"
            "  The decision was blocked and no output was set."
        )
    return f"Error: {show_value(dict(error))}"  # a kind this rulelang does not write


def _where(error: ErrorRecord) -> str:
    """Where evaluation failed: the rule or constraint, or the output's starting value."""
    if error.get("rule"):
        return f" in {error['rule']}"
    if error.get("output"):
        return f" in the starting value of `{error['output']}` (line {error.get('line')})"
    return ""


def _bad_field(issue: FactIssueRecord) -> str:
    """One bad field by its path: what was wrong with it."""
    where = issue["path"] or "the facts"
    if issue["got"] == "nothing":
        return f"  {where}: missing (expected {issue['expected']})"
    if issue["expected"] == "no such field":
        return f"  {where}: not a field the policy declares (got {issue['got']})"
    return f"  {where}: expected {issue['expected']}, got {issue['got']}"


def _rules(record: DecisionRecord, types: ValueTypes) -> str:
    trace = record["trace"]
    fired = [str(f) for f in record["fired"]]
    if not trace:
        if record["error"] is not None:
            return ""  # the error says what ran: nothing, or nothing that was kept
        if not fired:
            return "Rules: none fired."
        return (
            f"Rules that fired, in order: {', '.join(fired)}\n"
            "  (this record has no trace: decide with explain=True to see what each rule read)"
        )
    lines = ["Rules and constraints, in the order they ran:"]
    for firing in trace:
        lines += _firing_lines(firing, types)
    return "\n".join(lines)


def _firing_lines(firing: FiringRecord, types: ValueTypes) -> list[str]:
    kind = firing.get("kind", "rule")
    outcome = outcome_of(kind, firing["outcome"])
    phrase = OUTCOME_PHRASES[outcome] if outcome else f"outcome {firing['outcome']!r}"
    label = "constraint " if kind == "ensure" else ""
    lines = [f"  {label}{firing['rule']} (line {firing['line']}): {phrase}"]
    values = firing["values"]
    if values:
        read = (f"{k} = {show_value(v, types.read(k), missing='no value')}"
                for k, v in values.items())  # fmt: skip
        lines.append("      read " + ", ".join(read))
    for name, change in firing["changes"].items():
        lines.append(f"      changed {name}{_change(change, types.output(name))}")
    return lines


def _change(change: Sequence[Any], type: Type | None) -> str:
    if len(change) == 2:
        return f" from {show_value(change[0], type)} to {show_value(change[1], type)}"
    return f" to {show_value(change, type)}"


def _models(calls: list[ModelCallRecord], types: ValueTypes) -> str:
    if not calls:
        return ""
    return "\n".join(["Model calls:", *(_call_line(c, types.model(c["model"])) for c in calls)])


def _call_line(call: ModelCallRecord, type: Type | None) -> str:
    head = f"  {call['model']} (version {call['version']}): "
    source = call["source"]
    reason = no_answer_reason(call)
    if reason is not None:
        body = "no answer" + ("" if reason == "no answer" else f" ({reason})")
        if source == "fallback":
            body += f"; used the fallback {show_value(call['value'], type)}"
    else:
        body = show_value(call["value"], type) + _confidence(call["confidence"])
        body += f", {_SOURCES.get(source, source)}"
    ms = call["ms"]
    tail = f", {show_value(ms)} ms" if ms is not None else ""
    args = f"\n      arguments: {call['args']}" if call.get("args") else ""
    return head + body + tail + args + _detail(call.get("detail"))


def no_answer_reason(call: ModelCallRecord) -> str | None:
    """Why a model call had no answer (None when it answered): the call's own
    reason, or its detail's when the reason is the generic "no answer"."""
    source = call["source"]
    reason = call.get("reason")
    if not reason and source in ("model", "cache", "test") and call["value"] is not None:
        return None
    detail = call.get("detail")
    specific = detail.get("reason") if isinstance(detail, Mapping) else None
    if reason and (reason != "no answer" or not specific):
        return str(reason)
    if specific:
        return str(specific)
    return "fallback" if source == "fallback" else "no answer"


def _confidence(confidence: Any) -> str:
    if confidence is None or isinstance(confidence, bool):
        return ""
    return f" with confidence {show_value(round(float(confidence), 3), Type('percent'))}"


def _detail(detail: Mapping[str, Any] | None) -> str:
    if not detail:
        return ""
    return "\n      detail: " + ", ".join(f"{k} = {show_value(v)}" for k, v in detail.items())


def _event_line(event: ReviewEvent, types: ValueTypes) -> str:
    when = event.at.replace("T", " ")[:19] + "Z"
    who = f"{event.person} ({event.role})"
    if event.kind == "approved":
        return f"{when}  approved by {who}" + (f': "{event.note}"' if event.note else "")
    type = types.output(event.output)
    # A refused value is kept as the person typed it: it may not even parse.
    asked = event.new if event.kind == "refused" and isinstance(event.new, str) else None
    new = asked if asked is not None else show_value(event.new, type)
    change = f"{event.output} from {show_value(event.old, type)} to {new}"
    reason = f'reason: "{event.note}"' if event.note else "no reason given"
    if event.kind == "overridden":
        return f"{when}  overridden by {who}: {change}; {reason}"
    said = f'the policy said: "{event.message}"'
    return f"{when}  override refused: {who} asked for {change}; {reason}; {said}"


def _standing(events: list[ReviewEvent], types: ValueTypes) -> list[str]:
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for event in events:
        if event.kind == "overridden":
            first.setdefault(event.output, event.old)
            last[event.output] = event.new
    return [
        f"  {k} = {show_value(last[k], types.output(k))} "
        f"(the policy decided {show_value(first[k], types.output(k))})"
        for k in last
    ]
