"""EMBEDDING_BACKEND=onnx: the same vectors and answers as torch, without torch at run time.

fp32 onnx equals torch; int8 (the default precision) is close to it and is named apart ("#int8"),
so the two kinds of vectors never share an index or a cache entry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.embedding.onnx_encoder import token_batches
from bot.engine import Engine
from bot.errors import ConfigError, IndexUnavailable
from bot.settings import BUNDLED_MODEL, Settings
from tests.conftest import SEED_CORPUS, dev_questions


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    """sentence-transformers on torch, fp32: the reference the onnx runs are compared with."""
    e = Embedder(BUNDLED_MODEL)
    e.encode(["warm up"])
    return e


@pytest.fixture(scope="module")
def torch_index(tmp_path_factory: pytest.TempPathFactory, torch_embedder: Embedder) -> Path:
    """The seed corpus indexed with torch's fp32 vectors."""
    index = tmp_path_factory.mktemp("torch-index")
    build_index(SEED_CORPUS, index, torch_embedder)
    return index


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The bundled model exported to ONNX once for this module (a few seconds)."""
    return Embedder(BUNDLED_MODEL, backend="onnx", cache_dir=tmp_path_factory.mktemp("model-cache"))


def test_onnx_vectors_equal_torch_vectors(onnx_embedder: Embedder, torch_embedder: Embedder):
    texts = [q["q"] for q in dev_questions()[:8]] + ["A much longer passage " * 40, "x"]
    torch_v = torch_embedder.encode(texts)
    onnx_v = onnx_embedder.encode(texts)
    assert onnx_v.shape == torch_v.shape and onnx_v.dtype == np.float32
    assert np.min(np.sum(torch_v * onnx_v, axis=1)) > 0.9999
    assert onnx_embedder.model_name == torch_embedder.model_name  # interchangeable: same index, same cache


def test_export_is_cached_on_disk(onnx_embedder: Embedder):
    onnx_embedder.load()
    exports = list(Path(onnx_embedder.cache_dir).glob("onnx/*/model.onnx"))
    assert len(exports) == 1
    again = Embedder(BUNDLED_MODEL, backend="onnx", cache_dir=onnx_embedder.cache_dir)
    assert again.dimension == 384


def test_onnx_engine_answers_like_torch(torch_index: Path, torch_embedder: Embedder, onnx_embedder: Embedder):
    engine = Engine(Settings(_env_file=None, index_dir=torch_index), embedder=torch_embedder)
    onnx_engine = Engine(Settings(_env_file=None, index_dir=torch_index), embedder=onnx_embedder)
    for item in dev_questions():
        want, got = engine.answer(item["q"]), onnx_engine.answer(item["q"])
        assert got.answered == want.answered, item["id"]
        assert [q.passage_id for q in got.quotes] == [q.passage_id for q in want.quotes], item["id"]


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown embedding backend"):
        Embedder(BUNDLED_MODEL, backend="tensorflow")  # type: ignore[arg-type]


def test_falls_back_to_torch_when_the_export_cannot_be_written(tmp_path: Path, torch_embedder: Embedder, caplog):
    not_a_folder = tmp_path / "cache-is-a-file"
    not_a_folder.write_text("")
    fallback = Embedder(BUNDLED_MODEL, backend="onnx", cache_dir=not_a_folder)
    vectors = fallback.encode(["Is the Russian navy involved?"])
    assert fallback.backend == "torch"
    assert "using torch" in caplog.text
    np.testing.assert_allclose(vectors, torch_embedder.encode(["Is the Russian navy involved?"]), atol=1e-5)


def test_onnx_is_the_default_backend():
    assert Settings(_env_file=None).embedding_backend == "onnx"


def test_int8_is_the_default_and_close_to_fp32(onnx_embedder: Embedder):
    settings = Settings(_env_file=None)
    assert (settings.embedding_backend, settings.embedding_precision) == ("onnx", "int8")
    int8 = Embedder.from_settings(settings)
    int8.cache_dir = onnx_embedder.cache_dir
    assert int8.model_name == BUNDLED_MODEL + "#int8-v3"  # its own name: never mixed with fp32 vectors
    texts = [q["q"] for q in dev_questions()]
    cosines = np.sum(int8.encode(texts) * onnx_embedder.encode(texts), axis=1)
    assert 0.97 < float(cosines.mean()) < 0.9999  # close, and really quantised
    assert list(Path(onnx_embedder.cache_dir).glob("onnx/*/model.int8-v*.onnx"))


def test_torch_runs_fp32_unless_told_otherwise():
    assert Settings(_env_file=None, embedding_backend="torch").embedding_precision == "fp32"
    with pytest.raises(ValueError, match="onnx backend only"):
        Settings(_env_file=None, embedding_backend="torch", embedding_precision="int8")
    with pytest.raises(ConfigError, match="onnx backend only"):
        Embedder(BUNDLED_MODEL, backend="torch", precision="int8")


def test_an_fp32_index_tells_an_int8_engine_to_rebuild(torch_index: Path):
    engine = Engine(Settings(_env_file=None, index_dir=torch_index))
    with pytest.raises(IndexUnavailable, match="#int8-v3") as info:
        engine.answer("Is the Russian navy involved?")
    assert "rebuild" in (info.value.hint or "") or "build" in (info.value.hint or "")


def test_token_batches_keep_to_the_count_and_the_padded_token_budget():
    lengths = np.array([300, 120, 100, 40, 40, 39, 12, 12, 12, 5, 3, 1])
    batches = token_batches(lengths, 4, 256)
    assert [i for b in batches for i in range(len(lengths))[b]] == list(range(len(lengths)))  # each once, in order
    for b in batches:
        rows = lengths[b]
        assert len(rows) <= 4
        assert len(rows) == 1 or rows[0] * len(rows) <= 256  # padded to its longest (first) text
    assert len(lengths[batches[0]]) == 1  # a text longer than the budget still gets its batch


def test_fp32_vectors_do_not_depend_on_how_texts_are_batched(onnx_embedder: Embedder):
    texts = [q["q"] for q in dev_questions()[:6]] + ["A much longer passage " * 40, "x", "Short one."]
    encoder = onnx_embedder.onnx
    assert encoder is not None
    together = encoder.encode(texts, batch_size=32)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)  # and in the order of `texts`
