"""``rulelang explain``: a decision record in words, or a policy's generated code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rulelang.app import open_policy
from rulelang.cli.common import EXIT_OK, Subparsers
from rulelang.errors import UsageError
from rulelang.store.errors import StoreError
from rulelang.store.explain import explain_logged, render_record
from rulelang.store.log import open_log


def register(sub: Subparsers) -> None:
    explain = sub.add_parser("explain", help="a decision record in words, or generated code")
    explain.add_argument(
        "what",
        help="a .jsonl file of decision records, a decision id (with "
        "--log), or a .rule file (with --source)",
    )
    explain.add_argument("--id", help="the record with this id in the file")
    explain.add_argument("--line", type=int, help="the record on this line of the file")
    explain.add_argument("--log", help="decision log to read the id from")
    explain.add_argument("--source", action="store_true", help="print a policy's generated Python")
    explain.set_defaults(handler=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    if args.source:
        policy = open_policy(args.what, bindings=False, allow_unbound=True)
        sys.stdout.write(policy.source)
        return EXIT_OK
    path = Path(args.what)
    if not path.is_file():
        if not args.log:
            raise UsageError(
                f"{args.what} is not a file; to explain a logged decision by id, give --log URL"
            )
        return explain_by_id(args.log, args.what)
    shown = 0
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip() or (args.line and number != args.line):
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{number}: not JSON: {exc.msg}") from None
            if args.id and record.get("id") != args.id:
                continue
            print(render_record(record))
            print()
            shown += 1
    if not shown:
        raise UsageError("no matching decision record")
    return EXIT_OK


def explain_by_id(url: str, decision_id: str) -> int:
    try:
        log = open_log(url, create=False)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        if log.get(decision_id) is None:
            raise UsageError(f"no decision {decision_id} in {url}")
        print(explain_logged(log, decision_id))
    finally:
        log.close()
    return EXIT_OK
