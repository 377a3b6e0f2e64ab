"""What generated code (and the reference interpreter) calls at decision time.

Owns the meaning of a model call: per-decision memo, timeout, min_confidence,
fallback, value checks, and the ``ModelCall`` record. Also the small value
helpers both back-ends share (division, rounding, conversions), so the two
back-ends cannot drift apart on them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from rulelang import ir
from rulelang.decision import ModelCall
from rulelang.errors import EvaluationError
from rulelang.models.base import Answer, Explaining, Model

ACTION_NAMES = ("allow", "review", "block")


# ---- value helpers ------------------------------------------------------------------


def div(a: Any, b: Any) -> Any:
    if not b:
        raise EvaluationError("division by zero")
    return a / b


def to_money(x: Any) -> Decimal:
    if isinstance(x, float):
        if not math.isfinite(x):
            raise EvaluationError(f"cannot turn {x} into money")
        return Decimal(repr(x))
    return Decimal(x)


def round_half_up(x: Any, places: Any = None) -> Any:
    """round(x) gives an int; round(x, n) keeps x's type. Ties go away from zero."""
    exact = (
        x if isinstance(x, Decimal) else Decimal(repr(x)) if isinstance(x, float) else Decimal(x)
    )
    if places is None:
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    try:
        rounded = exact.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise EvaluationError(f"cannot round {x} to {places} places") from exc
    if isinstance(x, float):
        return float(rounded)
    return int(rounded) if isinstance(x, int) else rounded


# ---- models ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Judged:
    """A model's answer after the policy's checks: value None means no answer."""

    value: Any
    call: ModelCall


class BoundModel:
    """A declared model bound to an implementation; immutable after construction."""

    def __init__(
        self,
        decl: ir.Model,
        impl: Model,
        facts: frozenset[str],
        executor: ThreadPoolExecutor | None,
    ) -> None:
        self.decl = decl
        self.impl = impl
        self.version = str(getattr(impl, "version", "unknown"))
        self.fact_mask = tuple(p in facts for p in decl.params)
        self.executor = executor
        self.timeout_s = decl.timeout_ms / 1000 if decl.timeout_ms else None

    def key(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Memo key: facts are fixed within a decision, so only scalars vary."""
        return (
            self.decl.index,
            *(a for a, fact in zip(args, self.fact_mask, strict=True) if not fact),
        )

    def answer(self, args: tuple[Any, ...], explain: bool = False) -> Judged:
        start = time.perf_counter()
        try:
            raw = self._invoke(args)
        except FutureTimeout:
            return self.judge(None, start, args, "timeout")
        except Exception as exc:  # a model's failure is no answer, never a crash
            return self.judge(None, start, args, f"error: {type(exc).__name__}: {exc}"[:200])
        judged = self.judge(raw, start, args)
        return self.explained(judged, args) if explain else judged

    def answer_batch(self, rows: Sequence[tuple[Any, ...]], explain: bool = False) -> list[Judged]:
        """One call for many rows; each row's ms is its share of the batch.

        With a timeout, the batch gets the time its rows would have had one by one;
        past that, every row of it is a timeout. If the batch call fails, each row
        is asked on its own, so one bad row cannot sink the others.
        """
        start = time.perf_counter()
        try:
            raws = self._invoke_batch(rows)
        except FutureTimeout:
            return [self.judge(None, start, row, "timeout") for row in rows]
        except Exception:
            return [self.answer(row, explain) for row in rows]
        share = (time.perf_counter() - start) / max(1, len(rows))
        judged = [
            self.judge(raw, time.perf_counter() - share, row)
            for raw, row in zip(raws, rows, strict=True)
        ]
        if explain:
            judged = [self.explained(j, row) for j, row in zip(judged, rows, strict=True)]
        return judged

    def explained(self, judged: Judged, args: tuple[Any, ...]) -> Judged:
        """The answer with the adapter's explanation (LightGBM's feature contributions)
        added to its trace record. The explanation is asked for after the answer was
        timed and judged: explaining never changes an outcome, and its cost is not
        charged to the model's timeout."""
        if not isinstance(self.impl, Explaining) or judged.call.source != "model":
            return judged
        try:
            detail = unpack(self.impl.explain(args))[3]
        except Exception:  # an explanation is a courtesy: the answer stands without it
            return judged
        if detail is None:
            return judged
        return Judged(judged.value, replace(judged.call, detail=detail))

    def _invoke_batch(self, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        if self.timeout_s is None or self.executor is None:
            raws = list(self.impl.predict_batch(rows))
        else:
            future = self.executor.submit(self.impl.predict_batch, rows)
            raws = list(future.result(timeout=self.timeout_s * len(rows)))
        if len(raws) != len(rows):
            raise ValueError(f"predict_batch gave {len(raws)} answers for {len(rows)} rows")
        return raws

    def _invoke(self, args: tuple[Any, ...]) -> Any:
        if self.timeout_s is None or self.executor is None:
            return self.impl.predict(args)
        return self.executor.submit(self.impl.predict, args).result(timeout=self.timeout_s)

    def judge(
        self, raw: Any, start: float, args: tuple[Any, ...], reason: str | None = None
    ) -> Judged:
        value, confidence, source, detail = unpack(raw)
        ms = (time.perf_counter() - start) * 1000
        if reason is None:
            value, reason = self.check(value, confidence, ms)
        if reason is not None:
            value, source = (
                (self.decl.fallback, "fallback") if self.decl.has_fallback else (None, "none")
            )
        call = ModelCall(
            self.decl.name,
            self.version,
            value,
            confidence,
            ms,
            source,
            reason,
            self.render_args(args),
            detail,
        )
        return Judged(value, call)

    def check(self, value: Any, confidence: float | None, ms: float) -> tuple[Any, str | None]:
        """The policy's view of an answer: (value in run-time form, or None and why)."""
        decl = self.decl
        if value is None:
            return None, "no answer"
        if self.timeout_s is not None and ms > decl.timeout_ms:  # type: ignore[operator]
            return None, "timeout"
        value, problem = coerce(value, decl.result)
        if problem:
            return None, problem
        if decl.min_confidence is not None:
            if confidence is None:
                return None, "no confidence given"
            if not confidence >= decl.min_confidence:  # NaN fails too
                return None, "low confidence"
        return value, None

    def render_args(self, args: tuple[Any, ...]) -> str:
        parts = [
            p if fact else repr(a)[:60]
            for p, a, fact in zip(self.decl.params, args, self.fact_mask, strict=True)
        ]
        return ", ".join(parts)


def unpack(raw: Any) -> tuple[Any, float | None, str, dict[str, Any] | None]:
    """An Answer, a (value, confidence) pair or a bare value."""
    if isinstance(raw, Answer):
        return raw.value, raw.confidence, raw.source, raw.detail
    if isinstance(raw, tuple) and len(raw) == 2:
        conf = raw[1]
        return raw[0], float(conf) if isinstance(conf, (int, float)) else None, "model", None
    return raw, None, "model", None


def coerce(value: Any, result: str) -> tuple[Any, str | None]:
    """Check an answer against the declared result type; numbers become floats."""
    if result in ("score", "number"):
        if isinstance(value, bool):
            return None, "not a number: bool"  # float(True) is 1.0: a bool is no score
        if not isinstance(value, (int, float, Decimal)):
            try:
                value = float(value)  # numpy scalars
            except (TypeError, ValueError):
                return None, f"not a number: {type(value).__name__}"
        value = float(value)
        if math.isnan(value):
            return None, "NaN"
        if math.isinf(value) or (result == "score" and not 0.0 <= value <= 1.0):
            return None, "out of range"
        return value, None
    if result == "bool":
        return (value, None) if isinstance(value, bool) else (None, "not true/false")
    return (value, None) if isinstance(value, str) else (None, "not text")


# ---- the per-decision frame ----------------------------------------------------------------


class NeedAnswer(Exception):
    """Raised in batch mode when a decision needs an answer not fetched yet."""

    def __init__(self, index: int, args: tuple[Any, ...], key: tuple[Any, ...]) -> None:
        super().__init__(index)
        self.index, self.args, self.key = index, args, key


class Frame:
    """Per-decision state: the memo, the calls made, test replacements, batch answers."""

    __slots__ = ("calls", "collect", "explain", "memo", "models", "prefetched", "replaced", "seen")

    def __init__(
        self,
        models: Sequence[BoundModel],
        replaced: dict[int, Any] | None = None,
        prefetched: dict[tuple[Any, ...], Judged] | None = None,
        collect: bool = False,
        explain: bool = False,
    ) -> None:
        self.models = models
        self.explain = explain
        self.memo: dict[tuple[Any, ...], Any] = {}
        self.calls: list[ModelCall] = []
        self.replaced = replaced
        self.prefetched = prefetched
        self.collect = collect
        self.seen: dict[str, Any] = {}  # explain path: call text -> answer, for one condition

    def call(self, index: int, args: tuple[Any, ...]) -> Any:
        bound = self.models[index]
        key = bound.key(args)
        if key in self.memo:
            return self.memo[key]
        judged = self.fetch(bound, index, args, key)
        self.memo[key] = judged.value
        self.calls.append(judged.call)
        return judged.value

    def call_seen(self, index: int, args: tuple[Any, ...], label: str) -> Any:
        """``call``, noting the answer under the call's source text for the explain trace
        (two calls of one model with other arguments are two entries)."""
        value = self.call(index, args)
        self.seen[label] = value
        return value

    def fetch(
        self, bound: BoundModel, index: int, args: tuple[Any, ...], key: tuple[Any, ...]
    ) -> Judged:
        if self.replaced is not None and index in self.replaced:
            return replaced_answer(bound, self.replaced[index], args)
        if self.prefetched is not None and key in self.prefetched:
            return self.prefetched[key]
        if self.collect:
            raise NeedAnswer(index, args, key)
        return bound.answer(args, self.explain)


def replaced_answer(bound: BoundModel, value: Any, args: tuple[Any, ...]) -> Judged:
    """A test's `with MODEL = VALUE` (None: unknown, which still takes the fallback)."""
    decl = bound.decl
    if value is None and decl.has_fallback:
        value, source = decl.fallback, "fallback"
    else:
        source = "test"
    call = ModelCall(
        decl.name,
        "test",
        value,
        1.0 if value is not None else None,
        0.0,
        source,
        None if value is not None else "unknown in test",
        bound.render_args(args),
    )
    return Judged(value, call)
