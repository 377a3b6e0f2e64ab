"""``rulelang check`` and ``rulelang fmt``: the front end's report, and the formatter."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rulelang.app import BINDINGS_FILE, open_policy, read_source
from rulelang.cli.common import EXIT_FAIL, EXIT_OK, Subparsers, print_warnings
from rulelang.errors import RuleError
from rulelang.formatter import format_source
from rulelang.review.analysis import review


def register(sub: Subparsers) -> None:
    check = sub.add_parser("check", help="check .rule files; report every problem")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument(
        "--models",
        type=Path,
        help="bind with this models.yaml (default: the one beside each policy)",
    )
    check.set_defaults(handler=cmd_check)
    fmt = sub.add_parser("fmt", help="format .rule files canonically, in place")
    fmt.add_argument("files", nargs="+", help="files, or - for standard input")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 if unformatted")
    fmt.set_defaults(handler=cmd_fmt)


def cmd_check(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            # Without a bindings file there is nothing to bind against: check the text.
            unbound = args.models is None and not (path.parent / BINDINGS_FILE).is_file()
            compiled = open_policy(path, bindings=args.models, allow_unbound=unbound)
        except RuleError as exc:
            print(exc.render(), file=sys.stderr)
            failed += 1
            continue
        policy = compiled.policy
        warned = print_warnings((*compiled.warnings, *review(policy)))
        print(
            f"ok: {path}: {len(policy.rules)} rules, {len(policy.ensures)} constraints, "
            f"{len(policy.models)} models, {len(policy.tests)} tests, "
            f"{len(policy.invariants)} invariants"
            + (f", {warned} warning{'s' * (warned != 1)}" if warned else "")
        )
    return EXIT_FAIL if failed else EXIT_OK


def cmd_fmt(args: argparse.Namespace) -> int:
    unformatted = 0
    for name in args.files:
        if name == "-":
            sys.stdout.write(format_source(sys.stdin.read(), "<stdin>"))
            continue
        source = read_source(name)
        text = format_source(source.text, name)
        if text == source.text:
            continue
        unformatted += 1
        if args.check:
            print(f"would reformat {name}", file=sys.stderr)
        else:
            Path(name).write_text(text, encoding="utf-8")
            print(f"reformatted {name}", file=sys.stderr)
    return EXIT_FAIL if args.check and unformatted else EXIT_OK
