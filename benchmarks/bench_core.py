"""Time rulelang on the POLICY.md workload against the hand-written reference.

Measures, on facts from ``gen_facts`` (default 20,000 at seed 20240601):

* the reference ``decide`` (plain Python, the per-row limit): median and p99 of
  individually timed calls (``time.perf_counter_ns``) and the amortised mean of a
  tight loop;
* the reference ``decide_columns`` (numpy, the batch limit): mean per fact;
* rulelang's ``policy.decide({"row": fact})`` on ``policy21.rule``: with validation,
  with ``validate=False``, and the explain path (``explain=True``);
* that every rulelang decision equals the reference's under POLICY.md's verification
  rule (``reference.same``);
* check + compile time of a generated 500-rule policy (median of 5 loads).

Prints a markdown table with ratios against the reference. Exit status: 0 when every
decision agrees, 1 when one differs or rulelang cannot be loaded, 2 on bad usage.

    python benchmarks/bench_core.py                  # everything
    python benchmarks/bench_core.py --reference-only # before rulelang's API exists
"""

from __future__ import annotations

import argparse
import gc
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_facts  # noqa: E402
import gen_large_policy  # noqa: E402
import reference  # noqa: E402

POLICY21 = HERE / "policy21.rule"
_RULE_ID = re.compile(r"r\d\d")


@dataclass(frozen=True)
class Timing:
    """One row of the table, in nanoseconds per decision (None: not measured)."""

    label: str
    median_ns: float | None
    p99_ns: float | None
    mean_ns: float


@contextmanager
def no_gc() -> Iterator[None]:
    """Keep the cyclic collector out of the timed region, as ``timeit`` does."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def time_each(fn: Callable[[Any], Any], args: Sequence[Any]) -> list[int]:
    """Call ``fn`` on every arg, timing each call alone; return ns per call.

    Results are dropped as they come: keeping 20,000 traced decisions alive (with
    the collector off) grows the heap under the measurement and inflates it.
    """
    clock = time.perf_counter_ns
    spent: list[int] = []
    with no_gc():
        for arg in args:
            start = clock()
            fn(arg)
            spent.append(clock() - start)
    return spent


def time_loop(fn: Callable[[Any], Any], args: Sequence[Any]) -> float:
    """Mean ns per call of a tight loop over ``args`` (no per-call clock reads)."""
    with no_gc():
        start = time.perf_counter_ns()
        for arg in args:
            fn(arg)
        return (time.perf_counter_ns() - start) / len(args)


def measure(label: str, fn: Callable[[Any], Any], args: Sequence[Any]) -> tuple[Timing, list[Any]]:
    """Warm up, then time ``fn`` call by call and in a loop; return the row and results."""
    for arg in args[:200]:
        fn(arg)
    spent = time_each(fn, args)
    results = [fn(arg) for arg in args]  # for verification, outside the timed region
    spent.sort()
    median = float(spent[len(spent) // 2])
    p99 = float(spent[min(len(spent) - 1, int(len(spent) * 0.99))])
    return Timing(label, median, p99, time_loop(fn, args)), results


def clock_overhead_ns() -> float:
    """Median cost of one ``perf_counter_ns`` pair: included in every per-call figure."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(10_000):
        start = clock()
        samples.append(clock() - start)
    samples.sort()
    return float(samples[len(samples) // 2])


def measure_columns(facts: list[dict[str, Any]], repeat: int = 5) -> Timing:
    """Mean ns per fact of ``decide_columns`` (best of ``repeat``; columns built beforehand)."""
    columns = reference.to_columns(facts)
    best = float("inf")
    for _ in range(repeat):
        with no_gc():
            start = time.perf_counter_ns()
            reference.decide_columns(columns)
            best = min(best, time.perf_counter_ns() - start)
    return Timing("reference `decide_columns` (numpy, per fact)", None, None, best / len(facts))


# ---- rulelang ---------------------------------------------------------------------------


def as_reference(decision: Any) -> dict[str, Any]:
    """A rulelang Decision in the reference's shape: p -> final_price, r -> rank_boost,
    fired rule names -> POLICY.md ids (``r07_loyalty_bonus`` -> ``R07``), sorted."""
    outputs = decision.outputs
    fired = sorted(name[:3].upper() for name in decision.fired if _RULE_ID.match(name))
    return {
        "final_price": float(outputs["p"]),
        "rank_boost": float(outputs["r"]),
        "action": _action_text(decision.action),
        "fired": fired,
    }


def _action_text(action: Any) -> str:
    """``"allow"`` whether the API hands back a string or an enum member."""
    if isinstance(action, str):
        return action.rsplit(".", 1)[-1]
    return str(getattr(action, "value", getattr(action, "name", action)))


def mismatches(decisions: list[Any], expected: list[dict[str, Any]]) -> list[int]:
    """Indexes where a rulelang decision differs from the reference's (``reference.same``)."""
    pairs = zip(decisions, expected, strict=True)
    return [i for i, (got, want) in enumerate(pairs) if not reference.same(as_reference(got), want)]


def load_policy(rulelang: Any, path: Path) -> Any:
    """``rulelang.open_policy`` with no models (POLICY.md's fraud score is a plain fact)."""
    return rulelang.open_policy(str(path), models={})


def compile_seconds(rulelang: Any, text: str, repeat: int) -> float:
    """Median wall time of check + compile of a policy's text over ``repeat`` loads."""
    load = getattr(rulelang, "open_source", None)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.rule"
        path.write_text(text, encoding="utf-8")
        for _ in range(repeat):
            start = time.perf_counter()
            if load is not None:
                load(text)
            else:
                rulelang.open_policy(str(path), models={})
            times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def bench_rulelang(
    rulelang: Any, facts: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> tuple[list[Timing], list[str]]:
    """Time the three decide paths on policy21.rule; return rows and verification lines."""
    policy = load_policy(rulelang, POLICY21)
    wrapped = [{"row": fact} for fact in facts]
    variants = [
        ("rulelang `decide` (validate)", policy.decide),
        ("rulelang `decide` (validate=False)", partial(policy.decide, validate=False)),
        ("rulelang `decide` (explain=True)", partial(policy.decide, explain=True)),
    ]
    rows, notes = [], []
    for label, fn in variants:
        timing, decisions = measure(label, fn, wrapped)
        rows.append(timing)
        bad = mismatches(decisions, expected)
        notes.append(_verdict(label, bad, facts, decisions, expected))
    return rows, notes


def _verdict(
    label: str,
    bad: list[int],
    facts: list[dict[str, Any]],
    decisions: list[Any],
    expected: list[dict[str, Any]],
) -> str:
    total = len(decisions)
    if not bad:
        return f"- {label}: {total}/{total} decisions agree with the reference"
    i = bad[0]
    return (
        f"- {label}: **{len(bad)} of {total} decisions differ**; first, fact {i}:\n"
        f"  fact {facts[i]}\n  rulelang {as_reference(decisions[i])}\n  reference {expected[i]}"
    )


# ---- report -----------------------------------------------------------------------------


def table(rows: list[Timing], base: Timing) -> str:
    """Markdown table: µs per decision and ratios to the reference ``decide``."""
    lines = [
        "| path | median µs | p99 µs | mean µs (loop) | median × ref | mean × ref |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} | {_us(row.median_ns)} | {_us(row.p99_ns)} | {_us(row.mean_ns)} "
            f"| {_ratio(row.median_ns, base.median_ns)} | {_ratio(row.mean_ns, base.mean_ns)} |"
        )
    return "\n".join(lines)


def _us(ns: float | None) -> str:
    return "–" if ns is None else f"{ns / 1000:.2f}"


def _ratio(value: float | None, base: float | None) -> str:
    return "–" if value is None or not base else f"{value / base:.1f}×"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark rulelang on POLICY.md's workload.")
    parser.add_argument("--facts", type=int, default=20_000, help="number of facts (20000)")
    parser.add_argument("--seed", type=int, default=gen_facts.DEFAULT_SEED)
    parser.add_argument("--rules", type=int, default=500, help="size of the compile benchmark")
    parser.add_argument("--repeat", type=int, default=5, help="loads timed for compile time")
    parser.add_argument(
        "--reference-only", action="store_true", help="time only the reference (no rulelang)"
    )
    args = parser.parse_args(argv)
    if args.facts < 1 or args.rules < 1 or args.repeat < 1:
        parser.error("--facts, --rules and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; see the module docstring for exit codes."""
    args = parse_args(argv)
    facts = list(gen_facts.generate(args.facts, args.seed))
    print(f"# rulelang core benchmark: POLICY.md, {len(facts):,} facts, seed {args.seed}")
    print(f"Python {platform.python_version()} on {platform.platform()};")
    print(f"clock overhead {clock_overhead_ns():.0f} ns per timed call (included below)\n")
    base, expected = measure("reference `decide` (plain Python)", reference.decide, facts)
    rows = [base, measure_columns(facts)]
    notes: list[str] = []
    status = 0
    if not args.reference_only:
        status = _add_rulelang(args, facts, expected, rows, notes)
    print(table(rows, base))
    if notes:
        print("\n" + "\n".join(notes))
    return status


def _add_rulelang(
    args: argparse.Namespace,
    facts: list[dict[str, Any]],
    expected: list[dict[str, Any]],
    rows: list[Timing],
    notes: list[str],
) -> int:
    """Append rulelang's rows and notes; 1 when it is missing or a decision differs."""
    try:
        import rulelang
    except ImportError as exc:
        notes.append(f"- rulelang is not importable ({exc}); run with --reference-only")
        return 1
    if not hasattr(rulelang, "load"):
        notes.append("- rulelang has no `load` yet; run with --reference-only")
        return 1
    timings, verdicts = bench_rulelang(rulelang, facts, expected)
    rows.extend(timings)
    notes.extend(verdicts)
    text = gen_large_policy.generate(args.rules)
    seconds = compile_seconds(rulelang, text, args.repeat)
    notes.append(
        f"- check + compile of a generated {args.rules}-rule policy: "
        f"{seconds * 1000:.1f} ms (median of {args.repeat})"
    )
    return 0 if all("differ" not in note for note in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
