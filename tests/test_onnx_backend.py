"""EMBEDDING_BACKEND=onnx: the same vectors and answers as torch, without torch at run time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.embedder import Embedder
from bot.engine import Engine
from bot.errors import ConfigError
from bot.settings import BUNDLED_MODEL, Settings
from tests.conftest import dev_questions


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The bundled model exported to ONNX once for this module (a few seconds)."""
    return Embedder(BUNDLED_MODEL, backend="onnx", cache_dir=tmp_path_factory.mktemp("model-cache"))


def test_onnx_vectors_equal_torch_vectors(onnx_embedder: Embedder, embedder: Embedder):
    texts = [q["q"] for q in dev_questions()[:8]] + ["A much longer passage " * 40, "x"]
    torch_v = embedder.encode(texts)
    onnx_v = onnx_embedder.encode(texts)
    assert onnx_v.shape == torch_v.shape and onnx_v.dtype == np.float32
    assert np.min(np.sum(torch_v * onnx_v, axis=1)) > 0.9999
    assert onnx_embedder.model_name == embedder.model_name  # interchangeable: same index, same cache


def test_export_is_cached_on_disk(onnx_embedder: Embedder):
    onnx_embedder.load()
    exports = list(Path(onnx_embedder.cache_dir).glob("onnx/*/model.onnx"))
    assert len(exports) == 1
    again = Embedder(BUNDLED_MODEL, backend="onnx", cache_dir=onnx_embedder.cache_dir)
    assert again.dimension == 384


def test_onnx_engine_answers_like_torch(engine: Engine, seed_index: Path, onnx_embedder: Embedder):
    onnx_engine = Engine(Settings(_env_file=None, index_dir=seed_index), embedder=onnx_embedder)
    for item in dev_questions():
        want, got = engine.answer(item["q"]), onnx_engine.answer(item["q"])
        assert got.answered == want.answered, item["id"]
        assert [q.passage_id for q in got.quotes] == [q.passage_id for q in want.quotes], item["id"]


def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown embedding backend"):
        Embedder(BUNDLED_MODEL, backend="tensorflow")  # type: ignore[arg-type]


def test_falls_back_to_torch_when_the_export_cannot_be_written(tmp_path: Path, embedder: Embedder, caplog):
    not_a_folder = tmp_path / "cache-is-a-file"
    not_a_folder.write_text("")
    fallback = Embedder(BUNDLED_MODEL, backend="onnx", cache_dir=not_a_folder)
    vectors = fallback.encode(["Is the Russian navy involved?"])
    assert fallback.backend == "torch"
    assert "using torch" in caplog.text
    np.testing.assert_allclose(vectors, embedder.encode(["Is the Russian navy involved?"]), atol=1e-5)


def test_onnx_is_the_default_backend():
    assert Settings(_env_file=None).embedding_backend == "onnx"
