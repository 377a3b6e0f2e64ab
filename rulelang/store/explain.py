"""Explain a decision in words an analyst reads.

Input: a decision record (a dict, from a ``.jsonl`` file or from the log) and,
for ``render_history``, its review events. Output: plain text.
``render_record`` needs no log: ``rulelang explain FILE.jsonl`` calls it directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulelang.store.records import ReviewEvent

if TYPE_CHECKING:
    from rulelang.store.log import DecisionLog

_OUTCOMES = {
    "fired": "fired",
    "skipped": "did not fire: its condition was false",
    "unknown": "condition unknown (a model had no answer): its `if unknown` branch ran",
    "held": "held",
    "failed": "failed, so its `otherwise` ran",
    "unsatisfiable": "still failed after every constraint ran, so the decision was blocked",
}
_SOURCES = {
    "model": "from the model",
    "cache": "from the cache",
    "fallback": "the fallback value",
    "test": "given by a test",
    "none": "no value",
}


def render_record(record: Mapping[str, Any]) -> str:
    """The whole record: outcome, outputs, rules with what they read and changed, models."""
    sections = [
        _heading(record),
        _outcome(record),
        _outputs(record),
        _error(record),
        _rules(record),
        _models(record),
    ]
    return "\n\n".join(s for s in sections if s)


def explain_logged(log: DecisionLog, decision_id: str) -> str:
    """A logged decision: the record, its facts, where it sits in the log, its reviews."""
    decision = log.require(decision_id)
    events = list(log.reviews(decision_id))
    run = f", run {decision.run_id} line {decision.line}" if decision.run_id else ""
    where = f"Logged at {decision.at} (seq {decision.seq}{run})"
    parts = [
        render_record(decision.record),
        where,
        render_facts(decision.facts),
        render_history(events, decision.record),
    ]
    return "\n\n".join(p for p in parts if p)


def render_history(events: Iterable[ReviewEvent], record: Mapping[str, Any] | None = None) -> str:
    """What reviewers did, in order, and the outputs as they stand after overrides."""
    events = list(events)
    if not events:
        waiting = record is not None and record.get("action") == "review"
        role = (record or {}).get("review_by") or "a reviewer"
        return f"Review: waiting for {role}." if waiting else "Review: none."
    lines = ["Review history:", *(f"  {_event_line(e)}" for e in events)]
    standing = _standing(events)
    if standing:
        lines += ["Now, after overrides (the logged decision itself is unchanged):", *standing]
    return "\n".join(lines)


def render_facts(facts: Mapping[str, Any]) -> str:
    """The facts the decision read, one field a line."""
    flat = flatten(facts)
    if not flat:
        return ""
    return "\n".join(["Facts:", *(f"  {k} = {show(v)}" for k, v in flat.items())])


def show(value: Any) -> str:
    """A value as a `.rule` file would write it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float, Decimal)):
        return _number(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


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


def _number(value: float | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    text = str(value)
    digits = sum(ch.isdigit() for ch in text)
    return format(float(value), ".10g") if digits > 12 else text


def _heading(record: Mapping[str, Any]) -> str:
    phash = str(record.get("policy_hash", ""))
    short = phash if len(phash) <= 23 else phash[:23] + "…"
    return (
        f"Decision {record.get('id', '?')}\n"
        f"Policy {record.get('policy', '?')} version {record.get('version', '?')} ({short})"
    )


def _outcome(record: Mapping[str, Any]) -> str:
    action = str(record.get("action", "?"))
    role = record.get("review_by") or ""
    line = f"Action: {action}" + (f", for {role} to review" if action == "review" and role else "")
    reasons = [str(r) for r in record.get("reasons") or ()]
    if not reasons:
        return line + ("" if action != "allow" else " (no rule raised it)")
    return "\n".join([line, "Reasons:", *(f"  - {r}" for r in reasons)])


def _outputs(record: Mapping[str, Any]) -> str:
    outputs = record.get("outputs") or {}
    if not outputs:
        return ""
    return "\n".join(["Outputs:", *(f"  {k} = {show(v)}" for k, v in outputs.items())])


def _error(record: Mapping[str, Any]) -> str:
    error = record.get("error")
    if not error:
        return ""
    lines = ["The facts were rejected, so no rule ran:"]
    if isinstance(error, Mapping):
        lines += [f"  {line}" for line in _error_lines(error)]
    else:
        lines.append(f"  {error}")
    return "\n".join(lines)


def _error_lines(error: Mapping[str, Any]) -> list[str]:
    items = error.get("errors")
    if isinstance(items, Sequence) and not isinstance(items, str):
        return [_bad_field(item) for item in items]
    return [f"{k}: {show(v) if not isinstance(v, str) else v}" for k, v in error.items()]


def _bad_field(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    where = item.get("path") or item.get("field") or "?"
    parts = [f"{k} {show(item[k])}" for k in ("expected", "got") if k in item]
    message = item.get("message")
    return f"{where}: " + (str(message) if message else ", ".join(parts))


def _rules(record: Mapping[str, Any]) -> str:
    trace = record.get("trace") or []
    fired = [str(f) for f in record.get("fired") or ()]
    if not trace:
        if not fired:
            return "Rules: none fired."
        return (
            f"Rules that fired, in order: {', '.join(fired)}\n"
            "  (this record has no trace: decide with explain=True to see what each rule read)"
        )
    lines = ["Rules and constraints, in the order they ran:"]
    for firing in trace:
        lines += _firing_lines(firing)
    return "\n".join(lines)


def _firing_lines(firing: Mapping[str, Any]) -> list[str]:
    kind = "constraint " if firing.get("kind") == "ensure" else ""
    outcome = str(firing.get("outcome", "?"))
    head = f"  {kind}{firing.get('rule', '?')} (line {firing.get('line', '?')}): "
    lines = [head + _OUTCOMES.get(outcome, outcome)]
    values = firing.get("values") or {}
    if values:
        read = (f"{k} = {'no value' if v is None else show(v)}" for k, v in values.items())
        lines.append("      read " + ", ".join(read))
    for name, change in (firing.get("changes") or {}).items():
        lines.append(f"      changed {name}{_change(change)}")
    return lines


def _change(change: Any) -> str:
    if isinstance(change, Sequence) and not isinstance(change, str) and len(change) == 2:
        return f" from {show(change[0])} to {show(change[1])}"
    return f" to {show(change)}"


def _models(record: Mapping[str, Any]) -> str:
    calls = record.get("models") or []
    if not calls:
        return ""
    return "\n".join(["Model calls:", *(_call_line(c) for c in calls)])


def _call_line(call: Mapping[str, Any]) -> str:
    head = f"  {call.get('model', '?')} (version {call.get('version', '?')}): "
    source = str(call.get("source", ""))
    reason = no_answer_reason(call)
    if reason is not None:
        body = "no answer" + ("" if reason == "no answer" else f" ({reason})")
        if source == "fallback":
            body += f"; used the fallback {show(call.get('value'))}"
    else:
        body = show(call.get("value")) + _confidence(call.get("confidence"))
        body += f", {_SOURCES.get(source, source)}"
    ms = call.get("ms")
    tail = f", {_number(ms)} ms" if isinstance(ms, (int, float, Decimal)) else ""
    args = f"\n      arguments: {call['args']}" if call.get("args") else ""
    return head + body + tail + args + _detail(call.get("detail"))


def no_answer_reason(call: Mapping[str, Any]) -> str | None:
    """Why a model call had no answer (None when it answered): the call's own
    reason, or its detail's when the reason is the generic "no answer"."""
    source = call.get("source")
    reason = call.get("reason")
    if not reason and source in ("model", "cache", "test") and call.get("value") is not None:
        return None
    detail = call.get("detail")
    specific = detail.get("reason") if isinstance(detail, Mapping) else None
    if reason and (reason != "no answer" or not specific):
        return str(reason)
    if specific:
        return str(specific)
    return "fallback" if source == "fallback" else "no answer"


def _confidence(confidence: Any) -> str:
    if not isinstance(confidence, (int, float, Decimal)) or isinstance(confidence, bool):
        return ""
    percent = (Decimal(str(confidence)) * 100).quantize(Decimal("0.1"))
    return f" with confidence {format(percent, 'f').rstrip('0').rstrip('.')}%"


def _detail(detail: Any) -> str:
    if not isinstance(detail, Mapping) or not detail:
        return ""
    return "\n      detail: " + ", ".join(f"{k} = {show(v)}" for k, v in detail.items())


def _event_line(event: ReviewEvent) -> str:
    when = event.at.replace("T", " ")[:19] + "Z"
    who = f"{event.person} ({event.role})"
    if event.kind == "approved":
        return f"{when}  approved by {who}" + (f': "{event.note}"' if event.note else "")
    change = f"{event.output} from {show(event.old)} to {show(event.new)}"
    reason = f'reason: "{event.note}"' if event.note else "no reason given"
    if event.kind == "overridden":
        return f"{when}  overridden by {who}: {change}; {reason}"
    said = f'the policy said: "{event.message}"'
    return f"{when}  override refused: {who} asked for {change}; {reason}; {said}"


def _standing(events: list[ReviewEvent]) -> list[str]:
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for event in events:
        if event.kind == "overridden":
            first.setdefault(event.output, event.old)
            last[event.output] = event.new
    return [f"  {k} = {show(last[k])} (the policy decided {show(first[k])})" for k in last]
