"""The command line of ``rulelang diff``: arguments -> two versions, sources -> a report.

Checks the arguments (bad usage is exit 2), compiles both files and binds their
models from one ``models.yaml`` (one instance per model, shared), opens the
sources (a facts file, a decision log, generated facts), runs the ``diff`` stage
and prints its ``DiffReport``: ``render_text`` for people, JSON for machines. Exit
status 0 when the changed decisions are within ``--max-changed`` (or no gate was
given), 1 beyond it; a policy that fails to check or bind is 1 too, as elsewhere.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rulelang.app import open_pair
from rulelang.cli.common import (
    Subparsers,
    add_models_option,
    bindings_of,
    facts_file,
    hypothesis_cache,
)
from rulelang.decision import ACTIONS, json_default
from rulelang.errors import UsageError
from rulelang.review.diff import (
    AnswerSampler,
    DiffReport,
    Draw,
    Edit,
    Gate,
    Outcome,
    OutputShift,
    Record,
    Reject,
    RuleShift,
    SourceDiff,
    Versions,
    compare,
    compare_generated,
    diff_report,
    file_records,
    log_records,
    no_answers,
)
from rulelang.review.testing import show
from rulelang.store.errors import StoreError
from rulelang.store.log import open_log


def register(sub: Subparsers) -> None:
    diff = sub.add_parser("diff", help="compare two versions of a policy over the same facts")
    diff.add_argument("old", type=Path, help="the policy as it is")
    diff.add_argument("new", type=Path, help="the policy as it would be")
    diff.add_argument("--facts", type=Path, help="JSONL or CSV facts to decide with both")
    diff.add_argument(
        "--log",
        metavar="URL",
        help="also decide the facts of this decision log's decisions of the old policy",
    )
    add_models_option(
        diff,
        "bind both versions' models: the models.yaml beside OLD, or PATH "
        "(default: generated answers, the same for both)",
    )
    diff.add_argument(
        "--generated",
        type=int,
        metavar="N",
        help="also decide N facts "
        "generated from the new version's declarations (default 500 without "
        "--facts or --log, else 0)",
    )
    diff.add_argument("--seed", type=int, default=0, help="seed for generated facts and answers")
    diff.add_argument(
        "--examples", type=int, metavar="K", help="examples shown per kind of change (default 3)"
    )
    diff.add_argument("--max-changed", metavar="N|P%", help="exit 1 when more decisions change")
    diff.add_argument("--rejects", type=Path, help="write the records set aside here (JSONL)")
    diff.add_argument("--json", action="store_true", help="the report as JSON")
    diff.set_defaults(handler=cmd_diff)


# ---- the text report ------------------------------------------------------------------------


def render_text(report: DiffReport) -> str:
    """The report for people: what was edited, then each source, then the verdict."""
    blocks = [_render_head(report), _render_edits(report.edits)]
    blocks += [_render_source(s) for s in report.sources]
    blocks.append(_render_verdict(report))
    return "\n\n".join(blocks)


def _render_head(report: DiffReport) -> str:
    lines = ["rulelang diff"]
    for label, v in (("old", report.old), ("new", report.new)):
        lines.append(f"  {label}: {v.file}: {v.name} {v.version} ({v.policy_hash[:19]})")
    return "\n".join(lines)


def _render_edits(found: tuple[Edit, ...]) -> str:
    if not found:
        return "declarations: no rule, constraint, output, model or facts field differs"
    lines = ["declarations:"]
    for e in found:
        parts = f" ({', '.join(e.parts)})" if e.parts else ""
        lines.append(f"  {e.change:<8} {e.kind} {e.name}{parts}")
    return "\n".join(lines)


def _render_source(s: SourceDiff) -> str:
    lines = [
        f"{s.source}: {s.read} read, {s.compared} compared, {s.changed} changed"
        f" ({_share(s.changed, s.compared)})"
    ]
    if s.bad or s.rejected_by_old or s.rejected_by_new:
        lines.append(
            f"  set aside: {s.bad} bad, {s.rejected_by_old} rejected by old only, "
            f"{s.rejected_by_new} rejected by new only"
        )
    if s.compared:
        lines += _render_matrix(s.actions)
    lines += _render_outputs(s.outputs)
    if s.reasons_changed:
        moved = [f'+"{r}" {n}' for r, n in s.reasons_added]
        moved += [f'-"{r}" {n}' for r, n in s.reasons_removed]
        lines.append(f"  reasons: {s.reasons_changed} changed: " + ", ".join(moved))
    if s.review_by:
        lines.append(
            "  review_by: " + ", ".join(f"{_role(a)} -> {_role(b)} {n}" for a, b, n in s.review_by)
        )
    lines += _render_rules(s.rules)
    lines += _render_examples(s)
    return "\n".join(lines)


def _render_matrix(actions: tuple[tuple[str, str, int], ...]) -> list[str]:
    counts = {(a, b): n for a, b, n in actions}
    width = max(6, *(len(str(n)) for n in counts.values()))
    lines = [
        "  actions (rows old, columns new):",
        "    " + " " * 8 + "".join(f"{b:>{width + 2}}" for b in ACTIONS),
    ]
    for a in ACTIONS:
        lines.append(f"    {a:<8}" + "".join(f"{counts[(a, b)]:>{width + 2}}" for b in ACTIONS))
    return lines


def _render_outputs(shifts: tuple[OutputShift, ...]) -> list[str]:
    lines = ["  outputs:"] if shifts else []
    for o in shifts:
        text = f"    {o.name}: {o.changed} changed"
        if o.total is not None:
            text += f" ({o.up} up, {o.down} down), total {_signed(o.total)}, mean {_signed(o.mean)}"
        lines.append(text)
    return lines


def _render_rules(rules: tuple[RuleShift, ...]) -> list[str]:
    if not rules:
        return []
    width = max(len(r.kind) + len(r.name) + 1 for r in rules)
    lines = [
        "  firing changed:",
        f"    {'':<{width}}  fired old only  fired new only  in changed decisions",
    ]
    for r in rules:
        label = f"{r.kind} {r.name}"
        lines.append(
            f"    {label:<{width}}  {r.old_only:>14}  {r.new_only:>14}  {r.in_changed:>20}"
        )
    return lines


def _render_examples(s: SourceDiff) -> list[str]:
    if not s.examples:
        return []
    counts = dict(s.kinds)
    lines, shown = ["  examples:"], set()
    for kind, group in itertools.groupby(s.examples, key=lambda e: e.kind):
        lines.append(f"    {kind} ({_plural(counts[kind], 'decision')}):")
        for e in group:
            if e.origin in shown:
                lines.append(f"      {e.origin} (shown above)")
                continue
            shown.add(e.origin)
            lines += [
                f"      {e.origin}",
                f"        {e.given}",
                f"        old: {_outcome(e.old, e.new)}",
                f"        new: {_outcome(e.new, e.old)}",
            ]
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _outcome(mine: Outcome, other: Outcome) -> str:
    """An outcome in one line: outputs shown only where the two versions differ."""
    if mine.action == "rejected":
        return f"rejected: {mine.error}"
    text = mine.action
    if mine.reasons:
        text += " (" + ", ".join(f'"{r}"' for r in mine.reasons) + ")"
    if mine.review_by:
        text += f" by {mine.review_by}"
    theirs = dict(other.outputs)
    differ = [f"{k} = {_value(v)}" for k, v in mine.outputs if theirs.get(k, v) != v]
    text += "; " + ", ".join(differ) if differ else ""
    text += f"; error: {mine.error}" if mine.error else ""
    return text + "; fired " + (", ".join(mine.fired) or "nothing")


def _render_verdict(report: DiffReport) -> str:
    text = (
        f"total: {report.compared} compared, {report.changed} changed "
        f"({_share(report.changed, report.compared)})"
    )
    if report.gate is not None:
        verdict = "exceeded" if report.exceeded else "within"
        text += f"; --max-changed {report.gate.text}: {verdict}"
    return text


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"


def _role(role: str) -> str:
    return role or '""'


def _value(value: Any) -> str:
    return show(value)


def _signed(value: Any) -> str:
    if isinstance(value, float):
        value = round(value, 6)
    text = _value(value)
    return text if text.startswith("-") else "+" + text


# ---- `rulelang diff` -------------------------------------------------------------------------

DEFAULT_GENERATED = 500  # generated facts when no --facts or --log is given


def cmd_diff(args: argparse.Namespace) -> int:
    """``rulelang diff OLD NEW``: 0 when within ``--max-changed`` (or no gate), else 1."""
    hypothesis_cache()
    gate = _checked_usage(args)
    versions = load_versions(args)
    with ExitStack() as stack:
        reject = _rejects_writer(args.rejects, stack)
        report = diff_report(versions, _sources(args, versions, reject, stack), gate)
    if args.json:
        print(json.dumps(report.to_dict(), default=json_default, indent=2))
    else:
        print(render_text(report))
    return 1 if report.exceeded else 0


def _checked_usage(args: argparse.Namespace) -> Gate | None:
    for flag in ("generated", "examples"):
        if (getattr(args, flag) or 0) < 0:
            raise UsageError(f"--{flag} takes a count >= 0")
    if args.facts is not None:
        facts_file(args.facts)
    if args.generated == 0 and not (args.facts or args.log):
        raise UsageError("nothing to compare: give --facts, --log or --generated N")
    try:
        return Gate.parse(args.max_changed) if args.max_changed is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def load_versions(args: argparse.Namespace) -> Versions:
    """Check and compile both files; bind both from one models.yaml, or bind nothing."""
    old, new = open_pair(args.old, args.new, bindings=bindings_of(args.models))
    return Versions(old, new, str(args.old), str(args.new))


def _sources(
    args: argparse.Namespace, versions: Versions, reject: Reject | None, stack: ExitStack
) -> Iterator[SourceDiff]:
    keep = 3 if args.examples is None else args.examples

    def draw() -> Draw:
        return no_answers if args.models is not None else AnswerSampler(versions, args.seed)

    if args.facts:
        records = file_records(args.facts, versions, draw())
        yield compare(versions, records, f"facts {args.facts}", keep=keep, reject=reject)
    if args.log:
        log = _open_log(args.log, stack)
        records = log_records(log, versions.old.name, versions, draw())
        yield compare(versions, records, f"log {args.log}", keep=keep, reject=reject)
    count = (
        args.generated
        if args.generated is not None
        else (0 if args.facts or args.log else DEFAULT_GENERATED)
    )
    if count:
        yield compare_generated(versions, count, args.seed, keep=keep, reject=reject)


def _open_log(url: str, stack: ExitStack) -> Any:
    try:
        log = open_log(url, create=False)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    stack.callback(log.close)
    return log


def _rejects_writer(path: Path | None, stack: ExitStack) -> Reject | None:
    """``--rejects FILE``: one JSON line per record set aside, and why."""
    if path is None:
        return None
    handle = stack.enter_context(path.open("w", encoding="utf-8"))

    def write(source: str, record: Record, by: str, error: Any) -> None:
        line = {"source": source, "origin": record.origin, "rejected_by": by, "error": error}
        handle.write(json.dumps(line, default=json_default) + "\n")

    return write
