"""``rulelang run``: stream facts from JSONL or CSV, decide, write decisions.

Memory stays flat: lines are read, decided and written a batch at a time. A bad
record (unreadable JSON, bad facts) goes to the rejects file with its line number
and errors, in input order; the summary's counts add up to the lines read and say
where the rejects went. Ctrl-C stops after the batch in hand: everything decided
so far is written (and logged, so a rerun with the same ``--run-id`` resumes).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from rulelang.app import open_policy
from rulelang.cli.common import Subparsers, facts_file, print_warnings
from rulelang.decision import json_default
from rulelang.inputs import Line, chunks, count_records, read_facts
from rulelang.program import CompiledPolicy
from rulelang.store.codec import canonical_json
from rulelang.store.writer import LogWriter


def register(sub: Subparsers) -> None:
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
    run.add_argument(
        "--strict-fields",
        action="store_true",
        help="reject facts with fields the policy does not declare",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when standard error is a terminal)",
    )
    run.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    compiled = open_policy(args.policy, bindings=args.models, strict_fields=args.strict_fields)
    print_warnings(compiled.warnings)
    facts_file(args.facts)
    return Runner(compiled, args).run()


class Runner:
    """One `rulelang run`: reads, decides, writes, counts."""

    def __init__(self, compiled: CompiledPolicy, args: argparse.Namespace) -> None:
        self.compiled = compiled
        self.args = args
        self.counts: Counter[str] = Counter()
        self.log: LogWriter | None = None
        self.run_id = args.run_id or f"run-{uuid.uuid4().hex[:12]}"
        self.done: set[int] = set()
        self.rejects_path: Path | None = None

    def run(self) -> int:
        with ExitStack() as stack:
            out = self._open_out(stack)
            rejects = self._open_rejects(stack)
            self._open_log(stack)
            bar = self._progress(stack)
            try:
                for chunk in chunks(
                    read_facts(self.args.facts, self.compiled.policy), self.args.batch_size
                ):
                    self._decide(chunk, out, rejects)
                    out.flush()
                    if bar is not None:
                        bar.update(len(chunk))
            except KeyboardInterrupt:
                self._summary(interrupted=True)
                return 130
        self._summary(interrupted=False)
        return 1 if self.counts["rejected"] else 0

    def _open_out(self, stack: ExitStack) -> IO[str]:
        if self.args.out is None:
            return sys.stdout
        mode = "a" if self.args.run_id and self.args.log else "w"
        return stack.enter_context(open(self.args.out, mode, encoding="utf-8"))

    def _open_rejects(self, stack: ExitStack) -> IO[str]:
        path = self.args.rejects
        if path is None and self.args.out is not None:
            path = self.args.out.with_suffix(".rejects.jsonl")
        if path is None:
            return sys.stderr
        self.rejects_path = path
        return stack.enter_context(open(path, "w", encoding="utf-8"))

    def _open_log(self, stack: ExitStack) -> None:
        if not self.args.log:
            return
        from rulelang.store.log import open_log

        log = open_log(self.args.log)
        try:
            log.register_policy(
                self.compiled.policy_hash,
                self.compiled.name,
                self.compiled.version,
                self.compiled.source_text,
            )
            self.done = log.done_lines(self.run_id)
        finally:
            log.close()
        self.counts["resumed"] = len(self.done)
        self.log = LogWriter(self.args.log, self.run_id)
        stack.callback(self.log.close)

    def _progress(self, stack: ExitStack) -> Any:
        show = self.args.progress if self.args.progress is not None else sys.stderr.isatty()
        if not show:
            return None
        from tqdm import tqdm

        total = count_records(self.args.facts)  # a quick pass: the bar gets a % and an ETA
        return stack.enter_context(
            tqdm(total=total, unit=" facts", file=sys.stderr, mininterval=0.5)
        )

    def _decide(self, chunk: list[Line], out: IO[str], rejects: IO[str]) -> None:
        todo = [
            (n, facts, raw) for n, facts, err, raw in chunk if err is None and n not in self.done
        ]
        bad: list[tuple[int, dict[str, Any]]] = [
            (n, {"type": "bad_json", "message": err}) for n, _, err, _ in chunk if err is not None
        ]
        decisions = self.compiled.decide_many(
            [f for _, f, _ in todo],
            explain=self.args.explain,
            validate=not self.args.no_validate,
            batch_size=max(1, len(todo)),
        )
        logged = []
        for (n, facts, raw), decision in zip(todo, decisions, strict=True):
            if decision.error is not None and decision.error.get("type") == "bad_facts":
                bad.append((n, decision.error))
                continue
            record = decision.to_dict()
            text = canonical_json(record)  # written once: to the output and to the log
            out.write(text + "\n")
            self.counts[decision.action] += 1
            if self.log is not None:
                logged.append((n, text, raw or canonical_json(facts)))
        for n, error in sorted(bad, key=lambda b: b[0]):  # rejects in input order
            self._reject(rejects, n, error)
        if logged and self.log is not None:
            self.log.put(logged)

    def _reject(self, rejects: IO[str], line: int, error: dict[str, Any]) -> None:
        self.counts["rejected"] += 1
        rejects.write(json.dumps({"line": line, "error": error}, default=json_default) + "\n")

    def _summary(self, interrupted: bool) -> None:
        c = self.counts
        decided = c["allow"] + c["review"] + c["block"]
        text = (
            f"decided {decided} (allow {c['allow']}, review {c['review']}, block "
            f"{c['block']}), rejected {c['rejected']}"
        )
        if c["rejected"]:
            text += f" (see {self.rejects_path or 'standard error'})"
        if c["resumed"]:
            text += f", {c['resumed']} already decided in run {self.run_id}"
        if self.log is not None:
            text += f"; logged as run {self.run_id}"
        if interrupted:
            text = "interrupted: " + text
            if self.log is not None:
                text += f" (rerun with --run-id {self.run_id} to resume)"
        print(text, file=sys.stderr)
