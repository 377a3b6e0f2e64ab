"""Mutation testing of the standard library: do its tests and invariants catch seeded bugs?

Each mutant changes one spot of one template in ``stdlib_rules/*.rule``, found by
walking the file's AST and rewriting the source text under a node's span:

* ``compare``: flip a comparison (``>=`` to ``>``, ``>`` to ``>=``, ``<`` to ``<=``,
  ``<=`` to ``<``, ``==`` to ``!=``, ``!=`` to ``==``; a range ``..`` to ``..<`` and back);
* ``bound``: shift a number literal by a small step (an int by 1, a decimal by its last
  place, a percent by 1 point), both ways; and, since templates take their thresholds
  as parameters, shift a numeric parameter that is the bound of a comparison (its
  right side) or range the same way (``stock < threshold`` to ``stock < (threshold +
  1)``; money by 0.01, a number by 0.01, a percent by 1%);
* ``clause``: drop either side of an ``and`` / ``or``;
* ``action``: swap ``block`` and ``review``, flip a boost's sign, or raise it by 1 point.

A mutant is written, with the rest of the library, to a temporary directory, and the
library's own tests (``stdlib_rules/tests/*_test.rule``, the files that import the
mutated one) are compiled against that directory (``templates.expand(library=...)``):
a failing `test` block or a broken `invariant` (fixed seed) kills it. A mutant the
checker rejects is *invalid* and not scored; those in ``EQUIVALENT`` behave exactly as
the original (a reason is given) and are not scored either. The score is
killed / (killed + survived).

    python benchmarks/mutation.py                       # every mutant, every file
    python benchmarks/mutation.py --files inventory --sample 20 --seed 1
    python benchmarks/mutation.py --jobs 2 --examples 100

Exit status: 0 when the score reaches ``--min-score`` (default 90%), 1 below it.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from rulelang import nodes as n
from rulelang.checker import check
from rulelang.errors import RuleError
from rulelang.paths import stdlib_dir
from rulelang.program import CompiledPolicy
from rulelang.review.invariants import check_invariants
from rulelang.review.testing import run_tests
from rulelang.source import SourceFile, Span
from rulelang.templates import expand
from rulelang.transformer import parse

OPERATORS = ("compare", "bound", "clause", "action")
FLIP = {">=": ">", ">": ">=", "<=": "<", "<": "<=", "==": "!=", "!=": "=="}

# Mutants that behave exactly as the original, by (file, description), with the reason.
EQUIVALENT: dict[tuple[str, str], str] = {}


@dataclass(frozen=True, slots=True)
class Mutant:
    file: str  # the library file's name, e.g. "inventory.rule"
    operator: str
    line: int
    start: int
    end: int
    old: str
    new: str

    @property
    def description(self) -> str:
        return f"line {self.line}: `{self.old}` -> `{self.new}`"

    def apply(self, text: str) -> str:
        return text[: self.start] + self.new + text[self.end :]


@dataclass(frozen=True, slots=True)
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | invalid | equivalent
    by: str = ""  # the test or invariant that killed it, the error, or the reason


# ---- making mutants ---------------------------------------------------------------------------


def mutants_of(path: Path) -> list[Mutant]:
    """Every mutant of one library file, in source order."""
    module = parse(SourceFile.read(path))
    found: list[Mutant] = []
    for template in (i for i in module.items if isinstance(i, n.Template)):
        params = {p.name: p.type_name for p in template.params}
        for item in template.body:
            for node in walk(item):
                found += node_mutants(path.name, node, params)
    return sorted(set(found), key=lambda m: (m.start, m.operator, m.new))


def walk(node: Any) -> Iterator[Any]:
    """A node and everything under it (expressions and actions)."""
    yield node
    for name in getattr(node, "__slots__", ()):
        if name in ("span", "name_span"):
            continue
        value = getattr(node, name)
        for child in value if isinstance(value, tuple) else (value,):
            if hasattr(child, "span"):
                yield from walk(child)


def node_mutants(file: str, node: Any, params: dict[str, str]) -> list[Mutant]:
    """The mutants of one node; ``params`` are the template's parameters and types."""
    found = list(_node_mutants(file, node))
    if isinstance(node, n.Binary) and node.op in FLIP:  # templates write `value op bound`
        found += _shift(file, node.right, params)
    if isinstance(node, n.InRange):
        found += [m for side in (node.low, node.high) for m in _shift(file, side, params)]
    return found


def _node_mutants(file: str, node: Any) -> Iterator[Mutant]:
    if isinstance(node, n.Binary) and node.op in FLIP:
        yield from _compare(file, node)
    elif isinstance(node, n.Binary) and node.op in ("and", "or"):
        for side in (node.left, node.right):
            yield _mutant(file, "clause", node.span, side.span.text)
    elif isinstance(node, n.InRange):
        yield from _range(file, node)
    elif isinstance(node, n.Literal) and node.kind in ("int", "decimal", "percent"):
        yield from _bound(file, node)
    elif isinstance(node, (n.Block, n.Review)):
        word = "review" if isinstance(node, n.Block) else "block"
        yield _mutant(file, "action", node.span, f"{word} {_quote(node.reason)}")
    elif isinstance(node, n.Boost):
        by, target = node.by.span.text, node.target.span.text
        yield _mutant(file, "action", node.span, f"boost {target} by -({by})")
        yield _mutant(file, "action", node.span, f"boost {target} by {by} + 1%")


def _mutant(
    file: str, operator: str, span: Span, new: str, start: int | None = None, end: int | None = None
) -> Mutant:
    start = span.start if start is None else start
    end = span.end if end is None else end
    return Mutant(file, operator, span.line, start, end, span.file.text[start:end], new)


def _compare(file: str, node: n.Binary) -> Iterator[Mutant]:
    text = node.span.file.text
    gap = text[node.left.span.end : node.right.span.start]
    at = node.left.span.end + gap.index(node.op)
    yield _mutant(file, "compare", node.span, FLIP[node.op], at, at + len(node.op))


def _range(file: str, node: n.InRange) -> Iterator[Mutant]:
    text = node.span.file.text
    gap = text[node.low.span.end : node.high.span.start]
    token = "..<" if "..<" in gap else ".."
    at = node.low.span.end + gap.index(token)
    other = ".." if token == "..<" else "..<"
    yield _mutant(file, "compare", node.span, other, at, at + len(token))


def _bound(file: str, node: n.Literal) -> Iterator[Mutant]:
    written = node.span.text
    if node.kind == "percent":
        step, suffix = Decimal(1), "%"
        value = Decimal(written.rstrip("%"))
    else:
        value, suffix = Decimal(written), ""
        exponent = value.as_tuple().exponent
        step = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    for shifted in (value - step, value + step):
        yield _mutant(file, "bound", node.span, f"{shifted}{suffix}")


STEPS = {"int": "1", "money": "0.01", "number": "0.01", "percent": "1%"}


def _shift(file: str, side: Any, params: dict[str, str]) -> list[Mutant]:
    """A numeric parameter read as a bound, plus and minus a small step."""
    if not (isinstance(side, n.Name) and len(side.parts) == 1):
        return []
    step = STEPS.get(params.get(side.parts[0], ""))
    return (
        [
            _mutant(file, "bound", side.span, f"({side.span.text} {sign} {step})")
            for sign in ("-", "+")
        ]
        if step is not None
        else []
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---- running a mutant -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    library: Path  # the original library
    tests: Path  # its tests
    examples: int
    seed: int
    judge: str = "both"  # both | tests | invariants: what may kill a mutant
    aim: bool = True  # invariants aim at the policy's boundaries


def tests_of(settings: Settings, file: str) -> list[Path]:
    """The library's test files that import ``file``."""
    name = Path(file).stem
    pattern = re.compile(rf'^\s*import\s+"{re.escape(name)}"', re.MULTILINE)
    return [
        p
        for p in sorted(settings.tests.glob("*.rule"))
        if pattern.search(p.read_text(encoding="utf-8"))
    ]


def run_mutant(mutant: Mutant, settings: Settings) -> Outcome:
    reason = EQUIVALENT.get((mutant.file, mutant.description))
    if reason is not None:
        return Outcome(mutant, "equivalent", reason)
    with tempfile.TemporaryDirectory(prefix="rulelang-mutant-") as tmp:
        library = Path(tmp)
        for original in settings.library.glob("*.rule"):
            shutil.copy(original, library / original.name)
        target = library / mutant.file
        target.write_text(mutant.apply(target.read_text(encoding="utf-8")), encoding="utf-8")
        return _judge(mutant, settings, library)


def _judge(mutant: Mutant, settings: Settings, library: Path) -> Outcome:
    for test_file in tests_of(settings, mutant.file):
        try:
            policy = check(expand(parse(SourceFile.read(test_file)), library=library))
        except RuleError as exc:
            first = exc.diagnostics[0] if exc.diagnostics else None
            return Outcome(mutant, "invalid", first.message if first else str(exc))
        compiled = CompiledPolicy(policy, {}, allow_unbound=True)
        killer = _failed_test(compiled, settings) or _broken_invariant(compiled, settings)
        if killer:
            return Outcome(mutant, "killed", f"{test_file.name}: {killer}")
    return Outcome(mutant, "survived")


def _failed_test(compiled: CompiledPolicy, settings: Settings) -> str:
    if settings.judge == "invariants":
        return ""
    failed = next((r for r in run_tests(compiled) if not r.passed), None)
    return f'test "{failed.name}"' if failed is not None else ""


def _broken_invariant(compiled: CompiledPolicy, settings: Settings) -> str:
    if settings.judge == "tests":
        return ""
    results = check_invariants(
        compiled, examples=settings.examples, seed_value=settings.seed, aim=settings.aim
    )
    broken = next((r for r in results if not r.passed), None)
    return f'invariant "{broken.name}"' if broken is not None else ""


def run_all(mutants: Sequence[Mutant], settings: Settings, jobs: int) -> list[Outcome]:
    if jobs <= 1:
        return [run_mutant(m, settings) for m in mutants]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(run_mutant, mutants, [settings] * len(mutants)))


# ---- the report -------------------------------------------------------------------------------


def score(outcomes: Sequence[Outcome]) -> float:
    counts = Counter(o.status for o in outcomes)
    scored = counts["killed"] + counts["survived"]
    return counts["killed"] / scored if scored else 1.0


def report(outcomes: Sequence[Outcome], seconds: float) -> str:
    lines = [
        "| mutants | killed | survived | invalid | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    files = sorted({o.mutant.file for o in outcomes})
    groups = [(op, [o for o in outcomes if o.mutant.operator == op]) for op in OPERATORS]
    groups += [(f, [o for o in outcomes if o.mutant.file == f]) for f in files]
    lines += [_row(name, mine) for name, mine in groups]
    lines.append(_row("**total**", outcomes))
    by_invariant = sum(1 for o in outcomes if o.status == "killed" and "invariant" in o.by)
    lines.append(
        f"\n{len(outcomes)} mutants in {seconds:.1f} s; {by_invariant} killed by an "
        "invariant (after every test passed)"
    )
    for status in ("survived", "equivalent", "invalid"):
        lines += [
            f"{status}: {o.mutant.file} {o.mutant.description}" + (f" ({o.by})" if o.by else "")
            for o in outcomes
            if o.status == status
        ]
    return "\n".join(lines)


def _row(name: str, outcomes: Sequence[Outcome]) -> str:
    counts = Counter(o.status for o in outcomes)
    return (
        f"| {name} | {counts['killed']} | {counts['survived']} | {counts['invalid']} | "
        f"{counts['equivalent']} | {score(outcomes):.1%} |"
    )


def select(args: argparse.Namespace, library: Path) -> list[Mutant]:
    files = sorted(library.glob("*.rule"))
    if args.files:
        wanted = {f.removesuffix(".rule") for f in args.files.split(",")}
        files = [f for f in files if f.stem in wanted]
    operators = set(args.operators.split(",")) if args.operators else set(OPERATORS)
    mutants = [m for f in files for m in mutants_of(f) if m.operator in operators]
    if args.sample is not None and args.sample < len(mutants):
        mutants = sorted(
            random.Random(args.seed).sample(mutants, args.sample),
            key=lambda m: (m.file, m.start, m.new),
        )
    return mutants


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--files", help="library files to mutate, e.g. inventory,fraud (default: all)"
    )
    parser.add_argument("--operators", help=f"some of {','.join(OPERATORS)} (default: all)")
    parser.add_argument("--sample", type=int, help="run only N mutants, drawn with --seed")
    parser.add_argument("--seed", type=int, default=0, help="seed for --sample and invariants")
    parser.add_argument("--examples", type=int, default=100, help="examples per invariant")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run in parallel")
    parser.add_argument(
        "--judge",
        choices=("both", "tests", "invariants"),
        default="both",
        help="what may kill a mutant (default: tests, then invariants)",
    )
    parser.add_argument(
        "--no-aim",
        action="store_true",
        help="invariants' inputs ignore the policy's boundaries (to compare)",
    )
    parser.add_argument("--min-score", type=float, default=0.9, help="exit 1 below this")
    parser.add_argument("--library", type=Path, default=None, help="default: stdlib_rules/")
    parser.add_argument("--list", action="store_true", help="list the mutants; run nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    library = args.library or stdlib_dir()
    settings = Settings(
        library, library / "tests", args.examples, args.seed, args.judge, not args.no_aim
    )
    mutants = select(args, library)
    if args.list:
        print("\n".join(f"{m.operator:8} {m.file} {m.description}" for m in mutants))
        return 0
    started = time.perf_counter()
    outcomes = run_all(mutants, settings, args.jobs)
    print(report(outcomes, time.perf_counter() - started))
    return 0 if score(outcomes) >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
