"""``rulelang run``: stream facts from JSONL or CSV, decide, write decisions.

Memory stays flat: lines are read, decided and written a batch at a time. A bad
record (unreadable JSON, bad facts) goes to the rejects file with its line number
and errors; the summary's counts add up to the lines read. Ctrl-C stops after the
batch in hand: everything decided so far is written (and logged, so a rerun with
the same ``--run-id`` resumes).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import multiprocessing
import pickle
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from rulelang.decision import json_default
from rulelang.store.codec import Encoded, canonical_json
from rulelang.store.records import EncodedRecord

Line = tuple[int, Any, str | None, str | None]  # (line number, facts, error, raw JSON text)


def run_batch(args: argparse.Namespace, read: Any) -> int:
    from rulelang.program import CompiledPolicy, compile_file, load_models_yaml

    policy_source = read(args.policy)
    policy = compile_file(policy_source)
    models_yaml = args.models or _beside(args.policy, "models.yaml")
    bound = load_models_yaml(models_yaml, policy) if models_yaml and policy.models else {}
    compiled = CompiledPolicy(policy, bound, strict_fields=args.strict_fields)
    if not args.facts.is_file():
        from rulelang.cli import UsageError

        raise UsageError(f"no such file: {args.facts}")
    runner = Runner(compiled, args, policy_source.text)
    return runner.run()


def _beside(policy: Path, name: str) -> Path | None:
    candidate = policy.parent / name
    return candidate if candidate.is_file() else None


class Runner:
    """One `rulelang run`: reads, decides, writes, counts."""

    def __init__(self, compiled: Any, args: argparse.Namespace, policy_text: str) -> None:
        self.compiled = compiled
        self.args = args
        self.policy_text = policy_text
        self.counts: Counter[str] = Counter()
        self.log: Any = None
        self.run_id = args.run_id or f"run-{uuid.uuid4().hex[:12]}"
        self.done: set[int] = set()

    def run(self) -> int:
        with ExitStack() as stack:
            out = self._open_out(stack)
            rejects = self._open_rejects(stack)
            self._open_log(stack)
            bar = self._progress(stack)
            try:
                for chunk in chunks(read_facts(self.args.facts, self.compiled.policy),
                                    self.args.batch_size):
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
        from rulelang.store import open_log

        log = open_log(self.args.log)
        try:
            log.register_policy(self.compiled.policy_hash, self.compiled.name,
                                self.compiled.version, self.policy_text)
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

        return stack.enter_context(tqdm(unit=" facts", file=sys.stderr, mininterval=0.5))

    def _decide(self, chunk: list[Line], out: IO[str], rejects: IO[str]) -> None:
        todo = [(n, facts, raw) for n, facts, err, raw in chunk
                if err is None and n not in self.done]
        for n, _, err, _ in chunk:
            if err is not None:
                self._reject(rejects, n, {"type": "bad_json", "message": err})
        if not todo:
            return
        decisions = self.compiled.decide_many([f for _, f, _ in todo], explain=self.args.explain,
                                              validate=not self.args.no_validate,
                                              batch_size=len(todo))
        logged = []
        for (n, facts, raw), decision in zip(todo, decisions, strict=True):
            if decision.error is not None and decision.error.get("type") == "bad_facts":
                self._reject(rejects, n, decision.error)
                continue
            record = decision.to_dict()
            text = canonical_json(record)  # written once: to the output and to the log
            out.write(text + "\n")
            self.counts[decision.action] += 1
            if self.log is not None:
                logged.append((n, text, raw or canonical_json(facts)))
        if logged:
            self.log.put(logged)

    def _reject(self, rejects: IO[str], line: int, error: dict[str, Any]) -> None:
        self.counts["rejected"] += 1
        rejects.write(json.dumps({"line": line, "error": error}, default=json_default) + "\n")

    def _summary(self, interrupted: bool) -> None:
        c = self.counts
        decided = c["allow"] + c["review"] + c["block"]
        text = (f"decided {decided} (allow {c['allow']}, review {c['review']}, block "
                f"{c['block']}), rejected {c['rejected']}")
        if c["resumed"]:
            text += f", {c['resumed']} already decided in run {self.run_id}"
        if self.log is not None:
            text += f"; logged as run {self.run_id}"
        if interrupted:
            text = "interrupted: " + text
            if self.log is not None:
                text += f" (rerun with --run-id {self.run_id} to resume)"
        print(text, file=sys.stderr)


class LogWriter:
    """Writes batches to the decision log from a process of its own.

    Encoding, hashing and inserting cost about as much as deciding; in another
    process they run beside it instead of after it (a thread would only contend
    for the GIL). The main process sends each row's JSON text, already made for
    the output file, through a pipe: memory stays flat (the pipe blocks when the
    writer is behind). ``close`` waits until every batch sent is committed; each
    batch is one transaction, so a run killed at any point leaves whole records.
    """

    def __init__(self, url: str, run_id: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_log_worker, args=(url, run_id, child),
                                       name="rulelang-log", daemon=True)
        self.process.start()
        child.close()

    def put(self, rows: list[tuple[int, str, str]]) -> None:
        data = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
        # Ctrl-C waits until the batch is sent whole: a half-sent batch would be lost.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.conn.send_bytes(data)
        except (BrokenPipeError, ConnectionResetError):
            self._finish()  # the writer died: say why
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.conn.send_bytes(b"")
        self._finish()

    def _finish(self) -> None:
        failure = self.conn.recv() if self.conn.poll(None) else None
        self.process.join()
        self.conn.close()
        if failure:
            from rulelang.store import StoreError

            raise StoreError(f"writing the decision log failed: {failure}")


def _log_worker(url: str, run_id: str, conn: Any) -> None:
    """The writer process: batches in, committed rows out; its failure goes back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    from rulelang.store import open_log
    from rulelang.store.codec import loads

    failure = ""
    log = open_log(url)
    try:
        while data := conn.recv_bytes():
            rows = pickle.loads(data)
            log.append_many(run_id, [(n, EncodedRecord(loads(text), text), Encoded(facts))
                                     for n, text, facts in rows])
    except EOFError:
        failure = "the run stopped before the log was closed"
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        log.close()
        with contextlib.suppress(OSError):  # nobody is listening if the run was killed
            conn.send(failure)
        conn.close()


def chunks(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_facts(path: Path, policy: Any) -> Iterator[Line]:
    """(line number, facts, error) for each record of a JSONL or CSV file."""
    single = policy.facts[0].name if len(policy.facts) == 1 else None
    if path.suffix.lower() == ".csv":
        kinds = {(f.name, x.name): x.type.kind for f in policy.facts for x in f.fields}
        yield from _read_csv(path, single, kinds)
        return
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                yield number, None, f"not JSON: {exc.msg} at column {exc.colno}", None
                continue
            wrapped = _wrap(record, single)
            # The input line is the facts' JSON as given: the log keeps it verbatim.
            yield number, wrapped, None, text.strip() if wrapped is record else None


def _wrap(record: Any, single: str | None) -> Any:
    """A flat record for a policy with one facts block is that block's fields."""
    if single and isinstance(record, dict) and single not in record:
        return {single: record}
    return record


def _read_csv(path: Path, single: str | None, kinds: dict[tuple[str, str], str]
              ) -> Iterator[Line]:
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            record: dict[str, Any] = {}
            for column, value in row.items():
                if value in ("", None):
                    continue  # an empty cell is a missing (optional) field
                block, _, field = (column or "").rpartition(".")
                if not block and single:
                    block = single
                kind = kinds.get((block, field), "text")
                record.setdefault(block, {})[field] = _csv_cell(kind, value)
            yield number, record, None, None


def _csv_cell(kind: str, cell: str) -> Any:
    """A CSV cell is text: typed for bool, int and number fields; if it does not read as
    one, it stays text, for the validator to reject with its line."""
    text = cell.strip()
    try:
        if kind == "bool":
            return {"true": True, "false": False}.get(text.lower(), cell)
        return int(text) if kind == "int" else float(text) if kind == "number" else cell
    except ValueError:
        return cell


# ---- explain ------------------------------------------------------------------------------


def explain_records(args: argparse.Namespace) -> int:
    from rulelang.cli import UsageError
    from rulelang.store.explain import render_record

    path = Path(args.what)
    if not path.is_file():
        if not args.log:
            raise UsageError(f"{args.what} is not a file; to explain a logged decision by id, "
                             "give --log URL")
        return _explain_logged(args)
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
    return 0


def _explain_logged(args: argparse.Namespace) -> int:
    from rulelang.cli import UsageError
    from rulelang.store import StoreError, open_log
    from rulelang.store.explain import explain_logged

    try:
        log = open_log(args.log, create=False)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        if log.get(args.what) is None:
            raise UsageError(f"no decision {args.what} in {args.log}")
        print(explain_logged(log, args.what))
    finally:
        log.close()
    return 0
