"""Stage 6: IR + generated source -> ``CompiledPolicy``, ready to decide.

Compiles the generated source once (registered in ``linecache`` so tracebacks
show it), binds models, builds the facts validator, and freezes. ``decide`` is
then cheap, immutable and thread-safe: per-decision state lives in a ``Frame``.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import inspect
import itertools
import linecache
import os
import threading
import time
import traceback
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rulelang import ir
from rulelang.checker import check
from rulelang.codegen import Origin, generate
from rulelang.decision import ACTIONS, NO_CHANGES, Decision, Firing, OverrideCheck
from rulelang.errors import (
    Diagnostic,
    EvaluationError,
    FactError,
    FactIssue,
    ModelBindingFailed,
    UsageError,
)
from rulelang.facts import FactsValidator
from rulelang.interpreter import State, evaluate
from rulelang.models.base import (
    Answer,
    Model,
    ModelSignature,
    arity_problems,
    as_model,
    fit_problems,
)
from rulelang.render import read_value
from rulelang.runtime import (
    BoundModel,
    Frame,
    Judged,
    NeedAnswer,
    div,
    round_half_up,
    to_money,
)
from rulelang.source import SourceFile
from rulelang.templates import expand
from rulelang.transformer import parse

Result = tuple[dict[str, Any], int, list[str], str, list[str], list[Any] | None]
# The Python built-ins the generated code may call (codegen's helpers are bound apart).
GENERATED_BUILTINS = {"float": float, "abs": abs, "min": min, "max": max}
FAIL_SAFE = ACTIONS[-1]  # block: the action of a decision that could not be made


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Compiling builds tens of thousands of small objects, and the cyclic collector
    would scan the whole heap again and again: a third of a 500-rule policy's load.
    It is paused for the compile only, and left as the caller had it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compile_file(source: SourceFile) -> ir.Policy:
    """Parse, expand templates and check: the front end, without binding models."""
    with gc_paused():
        return check(expand(parse(source)))


def signatures(policy: ir.Policy) -> dict[str, ModelSignature]:
    """What an engineer's binding must fit: each model's parameters and result."""
    fields = {f.name: {x.name: str(x.type) for x in f.fields} for f in policy.facts}
    return {
        m.name: ModelSignature(
            m.name,
            m.params,
            m.result,
            m.min_confidence,
            m.timeout_ms,
            m.fallback,
            m.has_fallback,
            {p: fields[p] for p in m.params if p in fields},
        )
        for m in policy.models
    }


class BindingWarning(UserWarning):
    """A binding that loads but will not answer as the policy expects."""


def binding_problems(impl: Any, signature: ModelSignature) -> list[str]:
    """Why ``impl`` cannot serve the declared model: the adapter's own checks, and for a
    plain callable, whether it takes the declared number of arguments."""
    if isinstance(impl, Model):
        return fit_problems(impl, signature)
    if not callable(impl):
        return [f"cannot bind {impl!r}: expected a callable or an object with predict()"]
    return arity_problems(impl, signature)


def binding_warnings(impl: Any, decl: ir.Model) -> list[Diagnostic]:
    """A plain callable for a model with `min_confidence` must give a confidence: one
    annotated to return a bare number never does, so every answer counts as none."""
    if decl.min_confidence is None or isinstance(impl, Model) or not callable(impl):
        return []
    try:
        returns = inspect.signature(impl).return_annotation
    except (TypeError, ValueError):
        return []
    if returns not in (float, int, bool, "float", "int", "bool"):
        return []
    return [
        Diagnostic(
            "W404",
            f"`{decl.name}` declares min_confidence, but its callable "
            f"returns a bare {getattr(returns, '__name__', returns)}: every "
            "answer will count as no answer",
            decl.span,
            "return (value, confidence) or rulelang.Answer(value, confidence)",
            severity="warning",
        )
    ]


class Unbound:
    """Stands in for a model nobody bound (tests only): it never answers."""

    version = "unbound"

    def predict(self, args: tuple[Any, ...]) -> Any:
        return Answer(None, None, detail={"reason": "not bound"})

    def predict_batch(self, rows: Any) -> list[Any]:
        return [self.predict(r) for r in rows]


class CompiledPolicy:
    """A checked, compiled policy with its models bound. Decide with ``decide``."""

    def __init__(
        self,
        policy: ir.Policy,
        models: Mapping[str, Any],
        *,
        allow_unbound: bool = False,
        strict_fields: bool = False,
        source_text: str = "",
    ) -> None:
        self.policy = policy
        self.source_text = source_text  # the `.rule` text, as read once (the log keeps it)
        with gc_paused():
            self.generated = generate(policy)
            self.validator = FactsValidator(policy.facts, strict_fields=strict_fields)
        self._executor = (
            ThreadPoolExecutor(8, thread_name_prefix=f"rulelang-{policy.name}")
            if any(m.timeout_ms for m in policy.models)
            else None
        )
        self.models = self._bind(models, allow_unbound)
        # Named by the generated text itself: two policies with one .rule text can still
        # differ (a template imported from beside each), and linecache must show each its own.
        digest = hashlib.sha256(self.generated.source.encode()).hexdigest()[:12]
        self._filename = f"<rulelang {policy.name} {digest}>"
        self._lock = threading.Lock()
        self._explain_fn: Any = None
        with gc_paused():
            self._decide = self._compile("decide")
        self._nonce = itertools.count(int.from_bytes(os.urandom(9), "big") << 8)

    @property
    def name(self) -> str:
        return self.policy.name

    @property
    def version(self) -> str:
        return self.policy.version

    @property
    def policy_hash(self) -> str:
        return self.policy.source_hash

    @property
    def source(self) -> str:
        """The generated Python source, for review."""
        return self.generated.source

    def _bind(self, models: Mapping[str, Any], allow_unbound: bool) -> tuple[BoundModel, ...]:
        declared = {m.name: m for m in self.policy.models}
        problems = [
            Diagnostic(
                "E401",
                f"model `{m.name}` is not bound",
                m.span,
                f"bind it: rulelang.open_policy(..., models={{'{m.name}': ...}}) or in models.yaml",
            )
            for m in self.policy.models
            if m.name not in models and not allow_unbound
        ]
        problems += [
            Diagnostic(
                "E402",
                f"`{name}` is bound but the policy declares no such model",
                None,
                "declared models: " + (", ".join(declared) or "none"),
            )
            for name in models
            if name not in declared
        ]
        sigs = signatures(self.policy)
        problems += [
            Diagnostic("E403", problem, declared[name].span, "")
            for name, impl in models.items()
            if name in declared
            for problem in binding_problems(impl, sigs[name])
        ]
        if problems:
            raise ModelBindingFailed(problems)
        self.warnings = tuple(
            w
            for name, impl in models.items()
            if name in declared
            for w in binding_warnings(impl, declared[name])
        )
        for warning in self.warnings:
            warnings.warn(warning.message, BindingWarning, stacklevel=4)
        facts = frozenset(f.name for f in self.policy.facts)
        return tuple(
            BoundModel(m, as_model(models.get(m.name, Unbound())), facts, self._executor)
            for m in self.policy.models
        )

    def _compile(self, name: str) -> Any:
        """Compile one generated function: ``decide`` at load, ``explain`` on first use
        (it is three times the code, and many callers never explain)."""
        gen = self.generated
        linecache.cache[self._filename] = (
            len(gen.source),
            None,
            gen.source.splitlines(True),
            self._filename,
        )
        namespace: dict[str, Any] = {"__builtins__": dict(GENERATED_BUILTINS)}
        exec(compile(gen.only(name), self._filename, "exec"), namespace)
        # tnew builds a Firing without the NamedTuple's Python-level __new__.
        helpers = (div, round_half_up, to_money, Firing, tuple.__new__, NO_CHANGES)
        return namespace["bind"](*gen.constants, *helpers)

    def _explain(self) -> Any:
        if self._explain_fn is None:
            with self._lock:  # decide is thread-safe: compile once even when raced
                if self._explain_fn is None:
                    self._explain_fn = self._compile("explain")
        return self._explain_fn

    # ---- deciding ----------------------------------------------------------------------
    def decide(
        self,
        facts: Any,
        *,
        explain: bool = False,
        validate: bool = True,
        replace_models: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Decide one set of facts. Bad facts raise FactError; no rule runs.

        ``validate=False`` skips validation for trusted input already in run-time
        form (money and percent as Decimal). ``replace_models`` maps a model name to
        a fixed answer (None: no answer), as a test's `with` does.
        """
        if validate:
            facts = self.validator.validate(facts)
        frame = (
            Frame(self.models, self._replacements(replace_models), explain=explain)
            if self.models
            else None
        )
        return self._run(facts, frame, explain)

    def _replacements(self, replace_models: Mapping[str, Any] | None) -> dict[int, Any] | None:
        if not replace_models:
            return None
        index = {m.name: m.index for m in self.policy.models}
        return {index[name]: value for name, value in replace_models.items()}

    def _run(self, facts: dict[str, Any], frame: Frame | None, explain: bool) -> Decision:
        fn = self._explain() if explain else self._decide
        try:
            outputs, action, reasons, review_by, fired, trace = fn(facts, frame)
        except (EvaluationError, ArithmeticError) as exc:
            return self._failed(exc, frame)
        except (KeyError, TypeError, AttributeError) as exc:
            raise FactError(
                [
                    FactIssue(
                        "",
                        "facts in run-time form",
                        type(exc).__name__,
                        f"unvalidated facts do not fit the policy ({exc!r}): "
                        "decide them with validate=True",
                    )
                ]
            ) from None
        return Decision(
            self.policy.name,
            self.policy.version,
            self.policy.source_hash,
            ACTIONS[action],
            outputs,
            tuple(reasons),
            review_by,
            tuple(fired),
            tuple(trace) if trace else (),
            tuple(frame.calls) if frame else (),
            None,
            time.time_ns(),
            next(self._nonce),
        )

    def _failed(self, exc: Exception, frame: Frame | None) -> Decision:
        origin = self._origin_of(exc)
        if origin.kind == "output":
            located = EvaluationError.at(exc, output=origin.name, line=origin.line)
        else:
            located = EvaluationError.at(exc, rule=origin.name)
        return Decision(
            self.policy.name,
            self.policy.version,
            self.policy.source_hash,
            FAIL_SAFE,
            {},
            (located.reason,),
            "",
            (),
            (),
            tuple(frame.calls) if frame else (),
            located.to_dict(),
            time.time_ns(),
            next(self._nonce),
        )

    def _origin_of(self, exc: Exception) -> Origin:
        """The rule, constraint or output whose code raised, from the line map."""
        origin = Origin("")
        for frame, line in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename == self._filename:
                marks = [ln for ln in self.generated.line_map if ln <= line]
                origin = self.generated.line_map[max(marks)] if marks else Origin("")
        return origin

    def reject(self, error: FactError) -> Decision:
        """The record of facts that failed validation: blocked, no rule ran."""
        return Decision(
            self.policy.name,
            self.policy.version,
            self.policy.source_hash,
            FAIL_SAFE,
            {},
            ("bad facts",),
            "",
            (),
            (),
            (),
            error.to_dict(),
            time.time_ns(),
            next(self._nonce),
        )

    def decide_many(
        self,
        rows: Iterable[Any],
        *,
        explain: bool = False,
        validate: bool = True,
        batch_size: int = 256,
    ) -> Iterator[Decision]:
        """Decide many, in order, calling each model once per batch of rows.

        Rows whose facts are bad yield a blocked decision whose ``error`` names every
        bad field. Each row is decided exactly as ``decide`` would: a model is asked
        only about the rows whose outcome it can still change.
        """
        chunk: list[Any] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch_size:
                yield from self._decide_chunk(chunk, explain, validate)
                chunk = []
        if chunk:
            yield from self._decide_chunk(chunk, explain, validate)

    def _decide_chunk(self, chunk: list[Any], explain: bool, validate: bool) -> list[Decision]:
        results: list[Decision | None] = [None] * len(chunk)
        pending: dict[int, tuple[dict[str, Any], dict[tuple[Any, ...], Judged]]] = {}
        for i, raw in enumerate(chunk):
            try:
                pending[i] = (self.validator.validate(raw) if validate else raw, {})
            except FactError as exc:
                results[i] = self.reject(exc)
        while pending:
            requests: dict[int, list[tuple[int, tuple[Any, ...], tuple[Any, ...]]]] = defaultdict(
                list
            )
            for i, (facts, fetched) in list(pending.items()):
                frame = Frame(self.models, prefetched=fetched, collect=True, explain=explain)
                try:
                    results[i] = self._run(facts, frame, explain)
                    del pending[i]
                except NeedAnswer as need:
                    requests[need.index].append((i, need.key, need.args))
            for index, wanted in requests.items():
                answers = self.models[index].answer_batch([args for _, _, args in wanted], explain)
                for (i, key, _), judged in zip(wanted, answers, strict=True):
                    pending[i][1][key] = judged
        return [r for r in results if r is not None]

    # ---- overrides ------------------------------------------------------------------------
    def check_override(
        self, record: Mapping[str, Any], facts: Any, output: str, value: Any, role: str
    ) -> OverrideCheck:
        """May ``role`` set ``output`` to ``value`` on this decision? Never raises."""
        rights = [r for r in self.policy.overrides if r.output == output]
        if not rights:
            return OverrideCheck(
                False, f"no role may override `{output}`: the policy grants no such right"
            )
        right = next((r for r in rights if r.role == role), None)
        if right is None:
            roles = ", ".join(sorted({r.role for r in rights}))
            return OverrideCheck(
                False,
                f"role `{role}` has no right to override `{output}` "
                f"(roles with that right: {roles})",
            )
        new = self._proposed(output, value)
        try:
            checked = self.validator.validate(facts)
        except (FactError, ValueError, ArithmeticError) as exc:
            return OverrideCheck(False, f"cannot read the value or the facts: {exc}")
        state = self._state(record, checked)
        bounds = self._bounds(right, state)
        if bounds is not None and not _within(new, bounds, right.high_inclusive):
            return OverrideCheck(
                False,
                f"{new} is outside the allowed bounds {bounds[0]} .. {bounds[1]}",
                None,
                bounds,
            )
        if output == "action":
            state.action = ACTIONS.index(new)
        else:
            state.outputs[output] = new
        broken = [e.name for e in self.policy.ensures if evaluate(e.cond, state) is not True]
        if broken:
            return OverrideCheck(
                False, f"the result would break constraint {', '.join(broken)}", None, bounds
            )
        return OverrideCheck(True, "", new, bounds)

    def _proposed(self, output: str, value: Any) -> Any:
        """A person's value read as the output's type; a mistyped one is a usage error
        (nothing to record: the policy was never asked)."""
        try:
            return read_value(value, self._kind(output))
        except ValueError as exc:
            raise UsageError(f"cannot read the value of `{output}`: {exc}") from None

    def _kind(self, output: str) -> str:
        """The output's type kind; `action` is built in."""
        if output == "action":
            return "action"
        return next(o.type.kind for o in self.policy.outputs if o.name == output)

    def _typed(self, output: str, value: Any) -> Any:
        """A logged value of ``output`` in its run-time form (``render.read_value``)."""
        return read_value(value, self._kind(output))

    def _state(self, record: Mapping[str, Any], facts: dict[str, Any]) -> State:
        state = State(facts, None)
        outputs = record.get("outputs", {})
        for out in self.policy.outputs:
            if out.name in outputs:
                state.outputs[out.name] = self._typed(out.name, outputs[out.name])
        state.action = ACTIONS.index(record.get("action", ACTIONS[0]))
        state.review_by = record.get("review_by", "")
        return state

    def _bounds(self, right: ir.OverrideRight, state: State) -> tuple[Any, Any] | None:
        if right.low is None or right.high is None:
            return None
        return evaluate(right.low, state), evaluate(right.high, state)


def _within(value: Any, bounds: tuple[Any, Any], inclusive: bool) -> bool:
    low, high = bounds
    return bool(low <= value <= high) if inclusive else bool(low <= value < high)
