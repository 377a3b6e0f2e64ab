"""The command line: `rulelang check | run | test | fmt | explain | diff` (and the log's).

Exit status: 0 success, 1 a check, test or record failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rulelang.errors import RuleError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage: a missing file, a wrong flag value."""


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
        print(f"rulelang: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RuleError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_FAIL
    except BrokenPipeError:
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rulelang", description=__doc__)
    sub = parser.add_subparsers(metavar="COMMAND")
    check = sub.add_parser("check", help="check .rule files; report every problem")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--models", type=Path, help="also check the bindings in a models.yaml")
    check.set_defaults(handler=cmd_check)

    run = sub.add_parser("run", help="decide every fact in a JSONL or CSV file")
    run.add_argument("policy", type=Path)
    run.add_argument("--facts", type=Path, required=True, help="JSONL or CSV input")
    run.add_argument("--out", type=Path, help="JSONL decisions (default: standard output)")
    run.add_argument("--rejects", type=Path, help="bad records (default: OUT.rejects.jsonl)")
    run.add_argument("--models", type=Path, help="models.yaml (default: beside the policy)")
    run.add_argument("--explain", action="store_true", help="full trace in every record")
    run.add_argument("--log", help="also write every decision to this decision log")
    run.add_argument("--run-id", help="name of this run in the log; rerun it to resume")
    run.add_argument("--batch-size", type=int, default=512)
    run.add_argument("--no-validate", action="store_true", help="trusted input: skip validation")
    run.add_argument("--strict-fields", action="store_true",
                     help="reject facts with fields the policy does not declare")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bar (default: when standard error is a terminal)")
    run.set_defaults(handler=cmd_run)

    test = sub.add_parser("test", help="run the tests and invariants of .rule files")
    test.add_argument("files", nargs="+", type=Path)
    test.add_argument("--models", type=Path, help="bind real models (default: only `with`)")
    test.add_argument("-v", "--verbose", action="store_true", help="show passing tests too")
    test.add_argument("--seed", type=int, help="seed for invariants' inputs (default: random, "
                                               "printed so a run can be repeated)")
    test.add_argument("--examples", type=int, default=300,
                      help="generated inputs per invariant (default 300)")
    test.add_argument("--deadline", type=float, metavar="MS",
                      help="fail an invariant whose one example takes longer (default: none)")
    test.add_argument("--coverage", action="store_true",
                      help="after the report, what the tests made each rule and ensure do")
    test.add_argument("--coverage-json", type=Path, metavar="FILE",
                      help="also write the coverage as JSON (implies --coverage)")
    test.set_defaults(handler=cmd_test)

    fmt = sub.add_parser("fmt", help="format .rule files canonically, in place")
    fmt.add_argument("files", nargs="+", help="files, or - for standard input")
    fmt.add_argument("--check", action="store_true", help="change nothing; exit 1 if unformatted")
    fmt.set_defaults(handler=cmd_fmt)

    explain = sub.add_parser("explain", help="a decision record in words, or generated code")
    explain.add_argument("what", help="a .jsonl file of decision records, a decision id (with "
                                      "--log), or a .rule file (with --source)")
    explain.add_argument("--id", help="the record with this id in the file")
    explain.add_argument("--line", type=int, help="the record on this line of the file")
    explain.add_argument("--log", help="decision log to read the id from")
    explain.add_argument("--source", action="store_true", help="print a policy's generated Python")
    explain.set_defaults(handler=cmd_explain)
    _register_diff(sub)
    _register_store(sub)
    return parser


def _register_store(sub: Any) -> None:
    from rulelang import cli_store

    cli_store.register(sub)


def _register_diff(sub: Any) -> None:
    diff = sub.add_parser("diff", help="compare two versions of a policy over the same facts")
    diff.add_argument("old", type=Path, help="the policy as it is")
    diff.add_argument("new", type=Path, help="the policy as it would be")
    diff.add_argument("--facts", type=Path, help="JSONL or CSV facts to decide with both")
    diff.add_argument("--log", metavar="URL", help="also decide the facts of this decision "
                                                   "log's decisions of the old policy")
    diff.add_argument("--models", type=Path, help="models.yaml binding both versions (default: "
                                                  "generated answers, the same for both)")
    diff.add_argument("--generated", type=int, metavar="N", help="also decide N facts "
                      "generated from the new version's declarations (default 500 without "
                      "--facts or --log, else 0)")
    diff.add_argument("--seed", type=int, default=0, help="seed for generated facts and answers")
    diff.add_argument("--examples", type=int, metavar="K", help="examples shown per kind of "
                                                                "change (default 3)")
    diff.add_argument("--max-changed", metavar="N|P%", help="exit 1 when more decisions change")
    diff.add_argument("--rejects", type=Path, help="write the records set aside here (JSONL)")
    diff.add_argument("--json", action="store_true", help="the report as JSON")
    diff.set_defaults(handler=cmd_diff)


# ---- check, test, fmt ---------------------------------------------------------------------


def _read(path: Path) -> Any:
    from rulelang.source import SourceFile

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    return SourceFile.read(path)


def cmd_check(args: argparse.Namespace) -> int:
    from rulelang.program import CompiledPolicy, compile_file, load_models_yaml

    failed = 0
    for path in args.files:
        try:
            policy = compile_file(_read(path))
            if args.models:
                CompiledPolicy(policy, load_models_yaml(args.models, policy))
        except RuleError as exc:
            print(exc.render(), file=sys.stderr)
            failed += 1
            continue
        warned = _print_warnings(policy)
        print(f"ok: {path}: {len(policy.rules)} rules, {len(policy.ensures)} constraints, "
              f"{len(policy.models)} models, {len(policy.tests)} tests, "
              f"{len(policy.invariants)} invariants" + warned)
    return EXIT_FAIL if failed else EXIT_OK


def _print_warnings(policy: Any) -> str:
    """The static review's warnings (they never fail a check), and ", N warnings" or ""."""
    from rulelang.analysis import review

    found = review(policy)
    for warning in found:
        print(warning.render() + "\n", file=sys.stderr)
    return f", {len(found)} warning{'s' * (len(found) != 1)}" if found else ""


def _hypothesis_cache() -> None:
    """Hypothesis keeps a cache in ./.hypothesis unless told otherwise: a policy check
    run from any directory should not leave one there, so it goes to the user's cache."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(base / "rulelang" / "hypothesis"))


def cmd_test(args: argparse.Namespace) -> int:
    from rulelang.testing import report_files

    _hypothesis_cache()
    if args.examples < 1 or (args.deadline is not None and args.deadline <= 0):
        raise UsageError("--examples and --deadline take a positive number")
    return report_files(args.files, args.models, args.verbose, _read, seed=args.seed,
                        examples=args.examples, deadline_ms=args.deadline,
                        coverage=args.coverage or args.coverage_json is not None,
                        coverage_json=args.coverage_json)


def cmd_fmt(args: argparse.Namespace) -> int:
    from rulelang.formatter import format_source

    unformatted = 0
    for name in args.files:
        if name == "-":
            sys.stdout.write(format_source(sys.stdin.read(), "<stdin>"))
            continue
        source = _read(Path(name))
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


# ---- run and explain --------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from rulelang.batch import run_batch

    return run_batch(args, _read)


def cmd_explain(args: argparse.Namespace) -> int:
    if args.source:
        from rulelang.program import CompiledPolicy, compile_file

        policy = CompiledPolicy(compile_file(_read(Path(args.what))), {}, allow_unbound=True)
        sys.stdout.write(policy.source)
        return EXIT_OK
    from rulelang.batch import explain_records

    return explain_records(args)


def cmd_diff(args: argparse.Namespace) -> int:
    from rulelang.cli_diff import run_diff

    _hypothesis_cache()
    return run_diff(args, _read)


if __name__ == "__main__":
    sys.exit(main())
