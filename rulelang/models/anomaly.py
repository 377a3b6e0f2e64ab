"""Isolation-forest anomaly score, stored without pickle.

Input: an isolation forest exported by :func:`export_isolation_forest` (the trees
as plain numeric arrays in an ``.npz`` file, read with ``allow_pickle=False``) plus a
JSON sidecar and a feature mapping, exactly as for the LightGBM adapter.
Output: :class:`~rulelang.models.base.Answer` whose value is the anomaly score of
Liu et al. (2008), ``2 ** (-E[h(x)] / c(n))``, in 0 .. 1: about 0.5 or less for
ordinary inputs, towards 1 for inputs that are easy to isolate. This is exactly
``-IsolationForest.score_samples(X)`` of scikit-learn, computed here with numpy.

Why not pickle: a scikit-learn model can only be saved with pickle/joblib, and
loading a pickle runs whatever code the file names, so whoever can write the model
file could run code in every service that loads the policy. Exporting the trees'
arrays keeps the model file inert data; scikit-learn is needed only to train.

Confidence: None (an anomaly score is itself a measure of being out of distribution).
A missing value or a category the forest never saw gives no answer (with the reason
in ``detail``): an isolation forest splits only inside the range it was trained on,
so it cannot tell an unknown level from the nearest known one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rulelang.models.base import Answer, ModelSignature, import_extra
from rulelang.models.features import (
    FeatureMap,
    FitError,
    Sidecar,
    fitted_map,
    sidecar_path,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FOREST_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Forest:
    """All trees' nodes in flat arrays; ``left < 0`` marks a leaf.

    ``leaf_value`` of a leaf is its depth plus c(samples in the leaf), the expected
    path length below it; ``normalizer`` is trees × c(max_samples).
    """

    roots: npt.NDArray[np.int64]
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    feature: npt.NDArray[np.int64]
    threshold: npt.NDArray[np.float64]
    leaf_value: npt.NDArray[np.float64]
    normalizer: float
    max_depth: int

    def score(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Anomaly scores of the rows of ``matrix`` (every tree walked at once)."""
        import numpy as np

        x = matrix.astype(np.float32).astype(np.float64)  # trees split on float32 inputs
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.max_depth):
            inner = self.left[node] >= 0
            if not inner.any():
                break
            value = x[rows, self.feature[node]]
            step = np.where(value <= self.threshold[node], self.left[node], self.right[node])
            node = np.where(inner, step, node)
        depth = self.leaf_value[node].sum(axis=1)
        result: npt.NDArray[np.float64] = 2.0 ** (-depth / self.normalizer)
        return result

    def save(self, path: str | Path) -> None:
        import numpy as np

        np.savez_compressed(
            path,
            format=np.array(FOREST_FORMAT),
            roots=self.roots,
            left=self.left,
            right=self.right,
            feature=self.feature,
            threshold=self.threshold,
            leaf_value=self.leaf_value,
            normalizer=np.array(self.normalizer),
            max_depth=np.array(self.max_depth),
        )

    @classmethod
    def load(cls, path: str | Path) -> Forest:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FOREST_FORMAT:
                raise ValueError(f"{path}: unknown forest format {int(data['format'])}")
            return cls(
                roots=data["roots"].astype(np.int64),
                left=data["left"].astype(np.int64),
                right=data["right"].astype(np.int64),
                feature=data["feature"].astype(np.int64),
                threshold=data["threshold"].astype(np.float64),
                leaf_value=data["leaf_value"].astype(np.float64),
                normalizer=float(data["normalizer"]),
                max_depth=int(data["max_depth"]),
            )


def average_path_length(n: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """c(n): the average path length of an unsuccessful search in a BST of n nodes."""
    import numpy as np

    n = np.asarray(n, dtype=np.float64)
    safe = np.maximum(n, 3.0)
    general = 2.0 * (np.log(safe - 1.0) + np.euler_gamma) - 2.0 * (safe - 1.0) / safe
    result: npt.NDArray[np.float64] = np.where(n <= 1, 0.0, np.where(n == 2, 1.0, general))
    return result


def forest_from_sklearn(iforest: Any) -> Forest:
    """Flatten a fitted ``sklearn.ensemble.IsolationForest`` into a :class:`Forest`."""
    import numpy as np

    parts: dict[str, list[Any]] = {k: [] for k in ("left", "right", "feature", "thr", "leaf")}
    roots, offset, depth_max = [], 0, 0
    n_features = int(iforest.n_features_in_)
    for tree, used in zip(iforest.estimators_, iforest.estimators_features_, strict=True):
        subsample = len(used) != n_features  # as scikit-learn decides when scoring
        t = tree.tree_
        depth = _node_depths(t.children_left, t.children_right)
        depth_max = max(depth_max, int(depth.max()))
        leaf = t.children_left < 0
        roots.append(offset)
        parts["left"].append(np.where(leaf, -1, t.children_left + offset))
        parts["right"].append(np.where(leaf, -1, t.children_right + offset))
        feats = np.asarray(used)[np.maximum(t.feature, 0)] if subsample else t.feature
        parts["feature"].append(np.where(leaf, 0, feats))
        parts["thr"].append(np.where(leaf, 0.0, t.threshold))
        values = depth + average_path_length(t.n_node_samples.astype(np.float64))
        parts["leaf"].append(np.where(leaf, values, 0.0))
        offset += t.node_count
    normalizer = len(roots) * float(average_path_length(np.array([iforest.max_samples_]))[0])
    return Forest(
        roots=np.array(roots, dtype=np.int64),
        left=np.concatenate(parts["left"]).astype(np.int64),
        right=np.concatenate(parts["right"]).astype(np.int64),
        feature=np.concatenate(parts["feature"]).astype(np.int64),
        threshold=np.concatenate(parts["thr"]).astype(np.float64),
        leaf_value=np.concatenate(parts["leaf"]).astype(np.float64),
        normalizer=normalizer,
        max_depth=depth_max,
    )


def _node_depths(left: Any, right: Any) -> npt.NDArray[np.float64]:
    """Depth of every node (root 0) from the children arrays; parents precede children."""
    import numpy as np

    depth = np.zeros(len(left), dtype=np.float64)
    for node in range(len(left)):
        if left[node] >= 0:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    return depth


def export_isolation_forest(iforest: Any, path: str | Path, card: Sidecar) -> None:
    """Write a fitted IsolationForest to ``path`` (``.npz``) and ``card`` beside it."""
    if int(iforest.n_features_in_) != len(card.features):
        raise FitError(
            [f"the forest has {iforest.n_features_in_} features, the sidecar {len(card.features)}"]
        )
    forest_from_sklearn(iforest).save(path)
    card.save(sidecar_path(path))


@dataclass(frozen=True, slots=True)
class IsolationForestModel:
    """An exported isolation forest behind the Model protocol; build it with :meth:`load`."""

    forest: Forest
    features: FeatureMap
    version: str

    @classmethod
    def load(
        cls,
        path: str | Path,
        params: Sequence[str],
        features: Mapping[str, str] | None = None,
        *,
        sidecar: str | Path | None = None,
        signature: ModelSignature | None = None,
        version: str | None = None,
    ) -> IsolationForestModel:
        """Load ``path`` (``.npz``) and its sidecar; the rest as for LightGBM's ``load``."""
        import_extra("numpy", "the isolation-forest adapter")
        card = Sidecar.load(sidecar or sidecar_path(path))
        problems = [] if signature is None else _result_problems(signature.result)
        fmap = fitted_map(card, features, params, signature, problems)
        return cls(Forest.load(path), fmap, version or card.version)

    def predict(self, args: tuple[Any, ...]) -> Answer:
        """Answer one call."""
        return self.predict_batch([args])[0]

    def predict_batch(self, rows: Sequence[tuple[Any, ...]]) -> list[Answer]:
        """Answer many calls with one vectorised walk of the forest."""
        matrix, _, errors = self.features.encode_many(rows)
        missing = self._missing(matrix)
        keep = [i for i, reason in enumerate(missing) if reason is None]
        scores = iter(self.forest.score(matrix[keep]).tolist() if keep else [])
        reasons = iter(missing)
        answers = []
        for error in errors:
            reason = error if error is not None else next(reasons)
            answers.append(_no_answer(reason) if reason else Answer(next(scores), None, "model"))
        return answers

    def binding_problems(self, signature: ModelSignature) -> list[str]:
        """How a declaration fails to fit (result type, parameters, fields)."""
        return _result_problems(signature.result) + self.features.fit_problems(signature)

    def _missing(self, matrix: npt.NDArray[np.float64]) -> list[str | None]:
        """Per row: why it cannot be scored (a value missing or a level never seen)."""
        import numpy as np

        reasons: list[str | None] = [None] * len(matrix)
        for col, src in enumerate(self.features.sources):
            what = (
                "is missing or a level never seen in training"
                if src.feature.kind == "categorical"
                else "is missing"
            )
            for row in np.flatnonzero(np.isnan(matrix[:, col])):
                reasons[row] = reasons[row] or f"`{src.path}` {what}"
        return reasons

    def __repr__(self) -> str:
        names = list(self.features.names)
        return f"IsolationForestModel(features={names!r}, version={self.version!r})"


def _result_problems(result: str) -> list[str]:
    if result in {"score", "number"}:
        return []
    return [f"an anomaly score answers score or number, but the model is declared `-> {result}`"]


def _no_answer(reason: str) -> Answer:
    return Answer(None, None, "model", {"reason": reason})


def sklearn_agreement(iforest: Any, matrix: Any) -> float:
    """Largest difference between scikit-learn's scores and the exported forest's."""
    import numpy as np

    ours = forest_from_sklearn(iforest).score(np.asarray(matrix, dtype=np.float64))
    theirs = -iforest.score_samples(np.asarray(matrix, dtype=np.float64))
    return float(np.max(np.abs(ours - theirs)))
