"""The command line: `rulelang check | run | test | fmt | explain | diff` and the log's
`review | audit | export-labels | report`.

One module per command group registers its subcommands; this one parses, runs the
handler and turns every error into one line and an exit status:
0 success, 1 a check, test, record or refusal failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rulelang import __version__
from rulelang.cli import check, diff, explain, run, store, test
from rulelang.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from rulelang.errors import RuleError, UsageError
from rulelang.store.errors import LogUnavailable, StoreError, UnknownDecision

PREFIX = "rulelang: "


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.handler(args)
        return code
    except UsageError as exc:
        print(PREFIX + str(exc), file=sys.stderr)
        return EXIT_USAGE
    except RuleError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_FAIL
    except StoreError as exc:
        print(PREFIX + str(exc), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (LogUnavailable, UnknownDecision)) else EXIT_FAIL
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rulelang", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"rulelang {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND")
    for group in (check, run, test, explain, diff, store):
        group.register(sub)
    return parser


def entry() -> None:
    """The `rulelang` console script and `python -m rulelang`."""
    sys.exit(main())
