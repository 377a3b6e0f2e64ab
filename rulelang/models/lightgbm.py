"""LightGBM adapter: a saved booster answering a policy's ``model`` calls.

Input: a booster in LightGBM's text format, its JSON sidecar
(:class:`~rulelang.models.features.Sidecar`: features in model order, categorical
levels, training ranges, version) and a feature mapping ``{feature: path}``.
Output: :class:`~rulelang.models.base.Answer` per call.

Value: the probability of the positive class for a binary classifier (``score`` or
``number`` results), the prediction for a regression (``number`` results).

Confidence (pick with ``confidence=``):

* ``"in_distribution"`` (default): ``0.5 ** k`` where ``k`` is the number of features
  whose value training never saw: a numeric value outside the range recorded in the
  sidecar (optionally widened by ``tolerance`` × the range's width), a category not
  among the recorded levels, or a missing value where training had none. Ordinary
  inputs get 1.0; a single out-of-distribution feature gives 0.5, so
  ``min_confidence 80%`` turns such calls into no answer. The names of those
  features go into ``detail["out_of_distribution"]``.
* ``"margin"``: ``|2p − 1|`` (binary classifiers only): 0 at p = 0.5, 1 at 0 or 1.
* ``"none"``: no confidence (None).
* a callable ``fn(value, raw)`` → float, where ``raw`` maps each feature name to the
  argument value it read (before encoding).

Explain: :meth:`LightGBMModel.explain` (or ``predict(args, explain=True)``) adds
``detail["contributions"]``: the top features by absolute SHAP contribution from
``booster.predict(X, pred_contrib=True)``, in raw-score units (log-odds for a binary
classifier), with ``detail["bias"]`` (the expected raw score) and
``detail["raw_score"]``; all contributions plus the bias sum to the raw score.

Bad input the adapter detects (wrong arity, a text where a number belongs) gives
``Answer(None, detail={"reason": ...})``; it never raises for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rulelang.models.base import Answer, ModelSignature, import_extra
from rulelang.models.features import (
    BadInput,
    FeatureMap,
    FitError,
    Sidecar,
    fitted_map,
    sidecar_path,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

ConfidenceFn = Callable[[float, Mapping[str, Any]], float]
CONFIDENCES = ("in_distribution", "margin", "none")
CLASSIFIER_OBJECTIVES = frozenset({"binary", "cross_entropy", "xentropy"})
REGRESSION_OBJECTIVES = frozenset(
    {
        "regression",
        "regression_l2",
        "regression_l1",
        "huber",
        "fair",
        "poisson",
        "quantile",
        "mape",
        "gamma",
        "tweedie",
        "cross_entropy_lambda",
        "xentlambda",
    }
)
OOD_FACTOR = 0.5


@dataclass(frozen=True, slots=True)
class LightGBMModel:
    """A LightGBM booster behind the Model protocol; build it with :meth:`load`."""

    booster: Any
    features: FeatureMap
    version: str
    objective: str
    confidence: str | ConfidenceFn = "in_distribution"
    top_k: int = 5

    @classmethod
    def load(
        cls,
        path: str | Path,
        params: Sequence[str],
        features: Mapping[str, str] | None = None,
        *,
        sidecar: str | Path | None = None,
        signature: ModelSignature | None = None,
        confidence: str | ConfidenceFn = "in_distribution",
        version: str | None = None,
        tolerance: float = 0.0,
        top_k: int = 5,
    ) -> LightGBMModel:
        """Load ``path`` (booster text) and its sidecar (default: same stem, ``.json``).

        ``params`` are the model's declared parameter types in order (for
        ``model fraud_risk(customer, order, item)``: ``("customer", "order", "item")``).
        ``features`` maps each booster feature to a path; default: the sidecar's.
        With ``signature`` the result type and the facts fields are checked too.
        Raises :class:`~rulelang.models.features.FitError` listing every problem.
        """
        lgb = import_extra("lightgbm", "the LightGBM adapter")
        card = Sidecar.load(sidecar or sidecar_path(path))
        booster = lgb.Booster(model_file=str(path))
        return cls.from_booster(
            booster,
            card,
            params,
            features,
            signature=signature,
            confidence=confidence,
            version=version,
            tolerance=tolerance,
            top_k=top_k,
        )

    @classmethod
    def from_booster(
        cls,
        booster: Any,
        card: Sidecar,
        params: Sequence[str],
        features: Mapping[str, str] | None = None,
        *,
        signature: ModelSignature | None = None,
        confidence: str | ConfidenceFn = "in_distribution",
        version: str | None = None,
        tolerance: float = 0.0,
        top_k: int = 5,
    ) -> LightGBMModel:
        """Build from an in-memory booster and sidecar (see :meth:`load`)."""
        objective = booster_objective(booster)
        problems = booster_problems(booster, card) + _confidence_problems(confidence, objective)
        if signature is not None:
            problems += result_problems(objective, signature.result)
        fmap = fitted_map(card, features, params, signature, problems, tolerance)
        return cls(booster, fmap, version or card.version, objective, confidence, top_k)

    # ------------------------------------------------------------------ protocol

    def predict(self, args: tuple[Any, ...], *, explain: bool = False) -> Answer:
        """Answer one call; with ``explain`` add the top feature contributions."""
        if explain:
            return self.explain(args)
        try:
            row, outside = self.features.encode(args)
        except BadInput as exc:
            return _no_answer(str(exc))
        value = float(self._predict([row], num_threads=1)[0])
        return self._answer(value, outside, args)

    def predict_batch(self, rows: Sequence[tuple[Any, ...]]) -> list[Answer]:
        """Answer many calls with one ``booster.predict`` over a 2-D array."""
        matrix, outside, errors = self.features.encode_many(rows)
        values = self._predict(matrix).tolist() if len(matrix) else []
        answers: list[Answer] = []
        good = iter(zip(values, outside, strict=True))
        for args, error in zip(rows, errors, strict=True):
            if error is not None:
                answers.append(_no_answer(error))
                continue
            value, out = next(good)
            answers.append(self._answer(value, out, args))
        return answers

    def explain(self, args: tuple[Any, ...], top: int | None = None) -> Answer:
        """The answer with ``detail`` holding the ``top`` (default ``top_k``) contributions.

        ``top=0`` keeps every feature's contribution.
        """
        import numpy as np

        try:
            row, outside = self.features.encode(args)
        except BadInput as exc:
            return _no_answer(str(exc))
        matrix = np.array([row], dtype=np.float64)
        contrib = self.booster.predict(matrix, pred_contrib=True, num_threads=1)[0]
        answer = self._answer(float(self._predict(matrix, num_threads=1)[0]), outside, args)
        detail = dict(answer.detail or {})
        detail |= _contributions(self.features.names, contrib, self.top_k if top is None else top)
        return Answer(answer.value, answer.confidence, answer.source, detail)

    # ------------------------------------------------------------------ checks

    def binding_problems(self, signature: ModelSignature) -> list[str]:
        """How this model fails to fit a declaration (result type, parameters, fields)."""
        return result_problems(self.objective, signature.result) + self.features.fit_problems(
            signature
        )

    # ------------------------------------------------------------------ internals

    def _predict(self, rows: Any, **kwargs: Any) -> npt.NDArray[np.float64]:
        import numpy as np

        matrix = np.asarray(rows, dtype=np.float64)
        result: npt.NDArray[np.float64] = self.booster.predict(matrix, **kwargs)
        return result

    def _answer(self, value: float, outside: list[str], args: tuple[Any, ...]) -> Answer:
        detail = {"out_of_distribution": outside} if outside else None
        return Answer(value, self._confidence(value, outside, args), "model", detail)

    def _confidence(self, value: float, outside: list[str], args: tuple[Any, ...]) -> float | None:
        if self.confidence == "in_distribution":
            return float(OOD_FACTOR ** len(outside))
        if self.confidence == "margin":
            return abs(2.0 * value - 1.0) if not math.isnan(value) else None
        if self.confidence == "none":
            return None
        if callable(self.confidence):
            return float(self.confidence(value, self.features.raw_values(args)))
        raise ValueError(f"unknown confidence {self.confidence!r}")

    def __repr__(self) -> str:
        return (
            f"LightGBMModel(features={list(self.features.names)!r}, "
            f"version={self.version!r}, objective={self.objective!r})"
        )


def _no_answer(reason: str) -> Answer:
    return Answer(None, None, "model", {"reason": reason})


def _contributions(names: Sequence[str], contrib: Any, top: int) -> dict[str, Any]:
    pairs = [(name, float(v)) for name, v in zip(names, contrib[:-1], strict=True)]
    pairs.sort(key=lambda p: abs(p[1]), reverse=True)
    kept = pairs[:top] if top > 0 else pairs
    bias = float(contrib[-1])
    return {
        "contributions": dict(kept),
        "bias": bias,
        "raw_score": bias + sum(v for _, v in pairs),
    }


def booster_objective(booster: Any) -> str:
    """The booster's objective name (``binary``, ``regression``...)."""
    dumped = booster.dump_model(num_iteration=1)
    return str(dumped.get("objective", "")).split(" ")[0]


def booster_problems(booster: Any, card: Sidecar) -> list[str]:
    """Disagreements between a booster and its sidecar's feature list."""
    names = list(booster.feature_name())
    if names == list(card.names):
        return []
    return [
        f"the booster's features {names} differ from the sidecar's {list(card.names)} "
        "(retrain, or regenerate the sidecar)"
    ]


def result_problems(objective: str, result: str) -> list[str]:
    """Whether an objective can produce a declared result type."""
    if objective in CLASSIFIER_OBJECTIVES:
        ok = {"score", "number"}
    elif objective in REGRESSION_OBJECTIVES:
        ok = {"number"}
    else:
        return [
            f"LightGBM objective `{objective}` is not supported "
            "(use a binary classifier or a regression)"
        ]
    if result in ok:
        return []
    kind = "binary classifier" if objective in CLASSIFIER_OBJECTIVES else "regression"
    return [
        f"a LightGBM {kind} (objective `{objective}`) answers "
        f"{' or '.join(sorted(ok))}, but the model is declared `-> {result}`"
    ]


def _confidence_problems(confidence: str | ConfidenceFn, objective: str) -> list[str]:
    if callable(confidence):
        return []
    if confidence not in CONFIDENCES:
        return [f"confidence `{confidence}` is not one of {', '.join(CONFIDENCES)}"]
    if confidence == "margin" and objective not in CLASSIFIER_OBJECTIVES:
        return ["confidence `margin` needs a binary classifier"]
    return []


def save_lightgbm(booster: Any, path: str | Path, card: Sidecar) -> None:
    """Write ``booster`` (text format) to ``path`` and ``card`` beside it."""
    problems = booster_problems(booster, card)
    if problems:
        raise FitError(problems)
    booster.save_model(str(path))
    card.save(sidecar_path(path))
