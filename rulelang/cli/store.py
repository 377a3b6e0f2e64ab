"""The command line of the decision log: review, audit, export-labels, report.

``register(subparsers)`` adds the subcommands to the main ``rulelang`` parser; each
parsed namespace carries ``handler``, a function ``(args) -> int`` that returns the exit
status (0 ok, 1 a refusal or a failed verification). Errors are raised, and
``rulelang.cli.main`` prints them as one line (2 for bad usage).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from rulelang.app import open_source
from rulelang.errors import UsageError
from rulelang.render import show_value as show
from rulelang.store.chain import ChainHead, verify
from rulelang.store.codec import canonical_json
from rulelang.store.errors import (
    OverrideRefused,
)
from rulelang.store.explain import explain_logged
from rulelang.store.labels import FORMATS, export_labels
from rulelang.store.log import DecisionLog, open_log
from rulelang.store.records import ReviewEvent
from rulelang.store.report import report
from rulelang.store.review import CheckingPolicy, ReviewDesk, ReviewItem

DEFAULT_LOG = "rulelang.sqlite"
LOG_ENV = "RULELANG_LOG"
Handler = Callable[[argparse.Namespace, DecisionLog], int]
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``review``, ``audit``, ``export-labels`` and ``report`` to the main parser."""
    log = argparse.ArgumentParser(add_help=False)
    log.add_argument(
        "--log",
        metavar="URL",
        help=f"decision log path or URL (default ${LOG_ENV} or {DEFAULT_LOG})",
    )
    _add_review(subparsers, log)
    _add_audit(subparsers, log)
    labels = subparsers.add_parser(
        "export-labels", parents=[log], help="reviewed decisions as a training table"
    )
    labels.add_argument("--out", required=True, metavar="FILE")
    labels.add_argument("--format", choices=FORMATS, help="default: from the file's suffix")
    labels.add_argument("--policy", help="only decisions of this policy")
    labels.set_defaults(handler=_handler(_export_labels))
    trust = subparsers.add_parser("report", parents=[log], help="trust figures per rule and model")
    trust.add_argument("--json", action="store_true")
    trust.add_argument("--policy", help="only decisions of this policy")
    trust.set_defaults(handler=_handler(_report))


def load_policy_from_source(source: str, policy_hash: str) -> CheckingPolicy:
    """Compile a policy's logged source; check_override reads facts and outputs only,
    so the policy's models need no binding."""
    return open_source(source, name=f"<log {policy_hash}>", allow_unbound=True)


def parse_value(text: str) -> Any:
    """An override value as typed: numbers exact (``15%`` is 0.15), true/false,
    ``"quoted"`` text, anything else as bare text (``allow``)."""
    stripped = text.strip()
    if _NUMBER.match(stripped):
        try:
            if stripped.endswith("%"):
                return Decimal(stripped[:-1]) / 100
            return int(stripped) if stripped.lstrip("+-").isdigit() else Decimal(stripped)
        except InvalidOperation:
            return stripped
    if stripped in ("true", "false"):
        return stripped == "true"
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        return json.loads(stripped)
    return stripped


def _add_review(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
                log: argparse.ArgumentParser) -> None:  # fmt: skip
    review = subparsers.add_parser("review", help="work the human-review queue")
    commands = review.add_subparsers(dest="review_command", required=True)
    listing = commands.add_parser("list", parents=[log], help="decisions waiting for review")
    listing.add_argument("--role", help="only items queued for this role")
    listing.add_argument("--status", choices=("open", "closed", "all"), default="open")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_handler(_review_list))
    show_cmd = commands.add_parser("show", parents=[log], help="a decision and its history")
    show_cmd.add_argument("id")
    show_cmd.add_argument("--json", action="store_true")
    show_cmd.set_defaults(handler=_handler(_review_show))
    person = _person_parser()
    approve = commands.add_parser("approve", parents=[log, person], help="agree with the policy")
    approve.add_argument("id")
    approve.add_argument("--note", default="")
    approve.add_argument(
        "--audit",
        action="store_true",
        help="also a decision no rule sent to review (an audit sample)",
    )
    approve.set_defaults(handler=_handler(_review_approve))
    override = commands.add_parser(
        "override", parents=[log, person], help="change one output within the policy's rights"
    )
    override.add_argument("id")
    override.add_argument("assignment", metavar="OUTPUT=VALUE")
    override.add_argument("--reason", required=True)
    override.set_defaults(handler=_handler(_review_override))


def _person_parser() -> argparse.ArgumentParser:
    person = argparse.ArgumentParser(add_help=False)
    person.add_argument("--as", dest="person", required=True, metavar="PERSON")
    person.add_argument("--role", required=True)
    return person


def _add_audit(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
               log: argparse.ArgumentParser) -> None:  # fmt: skip
    audit = subparsers.add_parser("audit", help="check the log's hash chain")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    check = commands.add_parser("verify", parents=[log], help="recompute the whole hash chain")
    check.add_argument("--anchor", metavar="SEQ:HASH", help="a head printed earlier by audit head")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=_handler(_audit_verify))
    head = commands.add_parser("head", parents=[log], help="print SEQ:HASH to keep as an anchor")
    head.set_defaults(handler=_handler(_audit_head))


def _handler(body: Handler) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        target = args.log or os.environ.get(LOG_ENV) or DEFAULT_LOG
        with open_log(target, create=False) as log:
            return body(args, log)

    return handle


def _review_list(args: argparse.Namespace, log: DecisionLog) -> int:
    items = ReviewDesk(log).list_items(args.role, args.status, args.limit)
    if args.json:
        _print_json([i.to_dict() for i in items])
    elif not items:
        print(f"no {args.status} review items" + (f" for {args.role}" if args.role else ""))
    else:
        print("\n".join(_item_line(i) for i in items))
    return 0


def _item_line(item: ReviewItem) -> str:
    reasons = "; ".join(item.reasons) or "-"
    return f"{item.decision_id}  {item.status:<10}  {item.review_by or '-':<16}  {reasons}"


def _review_show(args: argparse.Namespace, log: DecisionLog) -> int:
    if not args.json:
        print(explain_logged(log, args.id))
        return 0
    case = ReviewDesk(log).show(args.id)
    out = {
        "record": case.decision.record,
        "facts": case.decision.facts,
        "status": case.status,
        "history": [_event_dict(e) for e in case.events],
    }
    _print_json(out)
    return 0


def _review_approve(args: argparse.Namespace, log: DecisionLog) -> int:
    event = ReviewDesk(log).approve(args.id, args.person, args.role, args.note, audit=args.audit)
    print(f"approved decision {event.decision_id} as {event.person} ({event.role})")
    return 0


def _review_override(args: argparse.Namespace, log: DecisionLog) -> int:
    output, sep, text = args.assignment.partition("=")
    if not sep or not output.strip():
        raise UsageError(f"expected OUTPUT=VALUE, got {args.assignment!r}")
    desk = ReviewDesk(log, lambda phash, source: load_policy_from_source(source, phash))
    try:
        done = desk.override(args.id, output.strip(), parse_value(text), args.person, args.role,
                             args.reason)  # fmt: skip
    except OverrideRefused as exc:
        print(f"rulelang: refused: {exc.override.refusal} (recorded in the log)", file=sys.stderr)
        return 1
    change = f"{done.output} changed from {show(done.old)} to {show(done.new)}"
    print(f"decision {done.decision_id}: {change} by {done.person} ({done.role}); "
          "the original decision stays in the log")  # fmt: skip
    return 0


def _audit_verify(args: argparse.Namespace, log: DecisionLog) -> int:
    try:
        anchor = ChainHead.parse(args.anchor) if args.anchor else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = verify(log, anchor)
    if args.json:
        _print_json(result.to_dict())
    else:
        print(result.render())
    return 0 if result.ok else 1


def _audit_head(args: argparse.Namespace, log: DecisionLog) -> int:
    print(log.head().render())
    return 0


def _export_labels(args: argparse.Namespace, log: DecisionLog) -> int:
    count = export_labels(log, args.out, args.format, policy=args.policy)
    print(f"wrote {count} labelled decisions to {args.out}")
    return 0


def _report(args: argparse.Namespace, log: DecisionLog) -> int:
    figures = report(log, policy=args.policy)
    if args.json:
        _print_json(figures.to_dict())
    else:
        print(figures.render())
    return 0


def _event_dict(event: ReviewEvent) -> dict[str, Any]:
    return {
        "seq": event.seq, "kind": event.kind, "person": event.person, "role": event.role,
        "output": event.output, "old": event.old, "new": event.new, "note": event.note,
        "message": event.message, "at": event.at,
    }  # fmt: skip


def _print_json(value: Any) -> None:
    """One line of canonical JSON: Decimals stay exact numbers."""
    print(canonical_json(value))
