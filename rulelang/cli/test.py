"""``rulelang test``: every file's `test` blocks and invariants, then coverage."""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path
from typing import Any

from rulelang.app import open_policy
from rulelang.cli.common import (
    EXIT_FAIL,
    EXIT_OK,
    Subparsers,
    add_models_option,
    bindings_of,
    hypothesis_cache,
    print_warnings,
)
from rulelang.errors import UsageError
from rulelang.review.coverage import Coverage, coverage_of
from rulelang.review.invariants import check_invariants
from rulelang.review.testing import render_counterexample, render_failure, run_tests


def register(sub: Subparsers) -> None:
    test = sub.add_parser("test", help="run the tests and invariants of .rule files")
    test.add_argument("files", nargs="+", type=Path)
    add_models_option(
        test,
        "bind real models: the models.yaml beside each policy, or PATH "
        "(default: none; models answer only through `with`)",
    )
    test.add_argument("-v", "--verbose", action="store_true", help="show passing tests too")
    test.add_argument(
        "--seed",
        type=int,
        help="seed for invariants' inputs (default: random, printed so a run can be repeated)",
    )
    test.add_argument(
        "--examples", type=int, default=300, help="generated inputs per invariant (default 300)"
    )
    test.add_argument(
        "--deadline",
        type=float,
        metavar="MS",
        help="fail an invariant whose one example takes longer (default: none)",
    )
    test.add_argument(
        "--coverage",
        action="store_true",
        help="after the report, what the tests made each rule and ensure do",
    )
    test.add_argument(
        "--coverage-json",
        type=Path,
        metavar="FILE",
        help="also write the coverage as JSON (implies --coverage)",
    )
    test.set_defaults(handler=cmd_test)


def cmd_test(args: argparse.Namespace) -> int:
    hypothesis_cache()
    if args.examples < 1 or (args.deadline is not None and args.deadline <= 0):
        raise UsageError("--examples and --deadline take a positive number")
    seed = secrets.randbelow(1_000_000) if args.seed is None else args.seed
    passed = failed = 0
    covered: list[Coverage] = []
    for path in args.files:
        compiled = open_policy(path, bindings=bindings_of(args.models), allow_unbound=True)
        print_warnings(compiled.warnings)
        results = run_tests(compiled)
        covered.append(coverage_of(str(path), compiled.policy, results))
        print(f"{path}: {len(results)} tests, {len(compiled.policy.invariants)} invariants")
        for result in results:
            passed, failed = passed + result.passed, failed + (not result.passed)
            if not result.passed:
                print(render_failure(result))
            elif args.verbose:
                print(f"  PASS  {result.name}")
        for inv in check_invariants(
            compiled, examples=args.examples, seed_value=seed, deadline_ms=args.deadline
        ):
            passed, failed = passed + inv.passed, failed + (not inv.passed)
            if not inv.passed:
                print(render_counterexample(inv))
            elif args.verbose:
                print(f"  PASS  invariant {inv.name}")
    print(f"invariants: seed {seed}, {args.examples} examples each (rerun with --seed {seed})")
    print(f"{passed} passed, {failed} failed")
    if args.coverage or args.coverage_json is not None:
        print_coverage(covered, args.coverage_json)
    return EXIT_FAIL if failed else EXIT_OK


def print_coverage(covered: list[Coverage], json_path: Path | None) -> None:
    """Each file's table after the test report; all of them as JSON if asked."""
    for coverage in covered:
        print()
        print(coverage.render())
    if json_path is not None:
        data: dict[str, Any] = {"files": [c.to_dict() for c in covered]}
        json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
