"""The model protocol: one shape for every implementation a policy can call.

A policy declares ``model NAME(ARG, ...) -> RESULT``; an engineer binds NAME to an
object with this protocol. The runtime (``rulelang.runtime``) owns what happens
around a call: per-decision memo, timeout, min_confidence, fallback and the trace.
Adapters only answer.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

ML_EXTRA_HINT = "install the ML extra: pip install 'rulelang[ml]'"


class MissingExtraError(ImportError):
    """A library of the optional ``ml`` extra is not installed."""

    def __init__(self, module: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs `{module}`, which is not installed; {ML_EXTRA_HINT}")
        self.module = module


def import_extra(module: str, purpose: str) -> ModuleType:
    """Import a library of the ``ml`` extra, or raise :class:`MissingExtraError`."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, purpose) from exc


@dataclass(frozen=True, slots=True)
class Answer:
    """One model answer. ``value`` None means the model has no answer.

    ``detail`` carries explain-path extras (for example LightGBM's top feature
    contributions); ``source`` is "model" or "cache" (an adapter's own cache).
    """

    value: Any
    confidence: float | None = None
    source: str = "model"
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ModelSignature:
    """A `model` declaration as the checker resolved it.

    ``params`` are type names: a facts block name (the argument is that fact's
    dict) or one of number, int, money, percent, text, bool.
    ``result`` is one of score, number, bool, text.
    """

    name: str
    params: tuple[str, ...]
    result: str
    min_confidence: float | None = None
    timeout_ms: float | None = None
    fallback: Any = None
    has_fallback: bool = False
    facts_fields: dict[str, dict[str, str]] = field(default_factory=dict)


@runtime_checkable
class Model(Protocol):
    """What the runtime calls. ``args`` is the tuple of evaluated arguments."""

    @property
    def version(self) -> str:
        """The model's version, recorded in the trace (a plain attribute will do)."""

    def predict(self, args: tuple[Any, ...]) -> Any:
        """Answer one call: an Answer, a (value, confidence) pair or a bare value."""

    def predict_batch(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[Any]:
        """Answer many calls at once, one result per row, in order."""


@runtime_checkable
class SelfChecking(Protocol):
    """An adapter that can tell at load whether it fits its declaration."""

    def binding_problems(self, signature: ModelSignature) -> list[str]:
        """Each way the adapter does not fit ``signature``; empty when it does."""


@runtime_checkable
class Explaining(Protocol):
    """An adapter with a richer answer for the explain path (feature contributions)."""

    def explain(self, args: tuple[Any, ...]) -> Any:
        """Answer one call as ``predict`` does, with ``Answer.detail`` filled in."""


def fit_problems(impl: Any, signature: ModelSignature) -> list[str]:
    """What an adapter says does not fit its declaration (adapters that can tell)."""
    return list(impl.binding_problems(signature)) if isinstance(impl, SelfChecking) else []


def arity_problems(fn: Callable[..., Any], signature: ModelSignature) -> list[str]:
    """A plain callable must take the declared arguments, or every call would fail."""
    try:
        params = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return []
    try:
        params.bind(*([None] * len(signature.params)))
    except TypeError:
        name = getattr(fn, "__name__", type(fn).__name__)
        return [
            f"the callable `{name}{params}` cannot take the {len(signature.params)} "
            f"argument(s) the model declares ({', '.join(signature.params)})"
        ]
    return []


class CallableModel:
    """Any Python callable as a model: ``fn(*args)`` answers one call.

    ``batch_fn``, when given, answers a list of argument tuples at once.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        version: str = "callable",
        batch_fn: Callable[[Sequence[tuple[Any, ...]]], Sequence[Any]] | None = None,
    ) -> None:
        self.fn = fn
        self.version = version
        self.batch_fn = batch_fn

    def predict(self, args: tuple[Any, ...]) -> Any:
        return self.fn(*args)

    def predict_batch(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[Any]:
        if self.batch_fn is not None:
            return self.batch_fn(rows)
        return [self.fn(*row) for row in rows]

    def __repr__(self) -> str:
        return f"CallableModel({getattr(self.fn, '__name__', self.fn)!r}, version={self.version!r})"


def as_model(impl: Any) -> Model:
    """Accept a Model, or wrap a plain callable (its ``version`` attribute if any)."""
    if isinstance(impl, Model):
        return impl
    if callable(impl):
        return CallableModel(impl, version=str(getattr(impl, "version", "callable")))
    raise TypeError(f"cannot bind {impl!r}: expected a callable or an object with predict()")
