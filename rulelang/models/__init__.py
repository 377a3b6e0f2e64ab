"""Model adapters: what a `.rule` file's `model` declarations are bound to.

Every adapter follows the :class:`~rulelang.models.base.Model` protocol. Heavy
libraries (LightGBM, sentence-transformers, numpy) are imported lazily by the
adapters, so ``import rulelang`` works without the ``ml`` extra.
"""

from rulelang.models.base import (
    Answer,
    CallableModel,
    MissingExtraError,
    Model,
    ModelSignature,
    as_model,
)
from rulelang.models.registry import ModelRegistry, load_models_yaml

__all__ = [
    "Answer",
    "CallableModel",
    "MissingExtraError",
    "Model",
    "ModelRegistry",
    "ModelSignature",
    "as_model",
    "load_models_yaml",
]
