"""A decision-log writer in a process of its own, for long batch runs.

Input: batches of (line number, record JSON, facts JSON) from the deciding process.
Output: committed rows in the log, one transaction per batch.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
from typing import Any

from rulelang.store.codec import Encoded, loads
from rulelang.store.errors import StoreError
from rulelang.store.records import EncodedRecord


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
        self.process = context.Process(
            target=_log_worker, args=(url, run_id, child), name="rulelang-log", daemon=True
        )
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
            raise StoreError(f"writing the decision log failed: {failure}")


def _log_worker(url: str, run_id: str, conn: Any) -> None:
    """The writer process: batches in, committed rows out; its failure goes back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides when to stop
    from rulelang.store.log import open_log

    failure = ""
    log = open_log(url)
    try:
        while data := conn.recv_bytes():
            rows = pickle.loads(data)
            log.append_many(
                run_id,
                [(n, EncodedRecord(loads(text), text), Encoded(facts)) for n, text, facts in rows],
            )
    except EOFError:
        failure = "the run stopped before the log was closed"
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        log.close()
        with contextlib.suppress(OSError):  # nobody is listening if the run was killed
            conn.send(failure)
        conn.close()
