"""Bulk onnx encodes run batches in parallel on one-thread sessions: same vectors, faster builds.

A build's texts go to `EMBEDDING_WORKERS` threads, a batch each (`OnnxEncoder.bulk_session`); a
question (one batch) keeps the multi-threaded session. The vectors must not depend on which
path made them, or a build would not be reproducible and cached vectors would drift.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder, resolve_model
from bot.embedding.lean import lean
from bot.embedding.onnx_encoder import OnnxEncoder, default_cache_dir, export_path, resolve_workers
from bot.engine import Engine
from bot.settings import BUNDLED_MODEL, Settings
from tests.conftest import MULTI_CORPUS, SEED_CORPUS, dev_questions


def texts() -> list[str]:
    """Questions and passages of many lengths: dozens of batches at a batch size of 4."""
    passages = [p.read_text(encoding="utf-8") for p in sorted(MULTI_CORPUS.glob("*.md"))]
    lines = [line for text in passages for line in text.splitlines() if len(line) > 20]
    return [q["q"] for q in dev_questions()] + lines + ["x", "A much longer passage " * 60]


def int8(workers: int) -> Embedder:
    """The default model and precision (int8) with this many bulk workers."""
    e = Embedder(BUNDLED_MODEL, backend="onnx", precision="int8", workers=workers)
    e.batch_size = 4  # many batches from few texts, so that both workers get some
    return e


def encoder(embedder: Embedder) -> OnnxEncoder:
    """The embedder's onnx encoder (the model loads here)."""
    onnx = embedder.onnx
    assert onnx is not None
    return onnx


def test_parallel_batches_give_the_serial_vectors():
    sample = texts()
    serial, parallel = int8(1), int8(2)
    one, two = serial.encode(sample), parallel.encode(sample)
    assert (encoder(serial).bulk_encodes, encoder(parallel).bulk_encodes) == (0, 1)
    # Same batches, so the same int8 quantisation; only float summation order may differ.
    np.testing.assert_allclose(two, one, atol=2e-5)
    assert np.allclose(np.linalg.norm(two, axis=1), 1.0, atol=1e-5)


def test_a_question_keeps_the_multithreaded_session(seed_index: Path):
    embedder = int8(2)
    engine = Engine(Settings(_env_file=None, index_dir=seed_index), embedder=embedder)
    engine.answer("Is the Russian navy involved?")
    onnx = encoder(embedder)
    assert onnx.bulk_encodes == 0 and onnx._bulk is None  # no second session made for questions
    assert onnx.session.get_session_options().intra_op_num_threads == min(4, os.cpu_count() or 1)


def test_a_build_embeds_on_the_parallel_path(tmp_path: Path):
    parallel, serial = int8(2), int8(1)
    build_index(SEED_CORPUS, tmp_path / "parallel", parallel)
    build_index(SEED_CORPUS, tmp_path / "serial", serial)
    assert encoder(parallel).bulk_encodes >= 1 and encoder(serial).bulk_encodes == 0
    assert encoder(parallel).bulk_session.get_session_options().intra_op_num_threads == 1
    questions = [q["q"] for q in dev_questions()]
    quotes, scores = {}, {}
    for name in ("parallel", "serial"):
        engine = Engine(Settings(_env_file=None, index_dir=tmp_path / name), embedder=serial)
        answers = [engine.answer(q) for q in questions]
        quotes[name] = [[(qt.passage_id, qt.quote) for qt in a.quotes] for a in answers]
        scores[name] = [qt.score for a in answers for qt in a.quotes]
    assert quotes["parallel"] == quotes["serial"]
    np.testing.assert_allclose(scores["parallel"], scores["serial"], atol=1e-4)


@pytest.mark.parametrize(("setting", "expected"), [(1, 1), (3, 3), (0, max(1, min(os.cpu_count() or 1, 8)))])
def test_workers_setting(setting: int, expected: int):
    assert resolve_workers(setting) == expected
    settings = Settings(_env_file=None, embedding_workers=setting)
    assert Embedder.from_settings(settings).workers == setting


def test_workers_setting_is_never_negative():
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(_env_file=None, embedding_workers=-1)


def test_the_lean_graph_gives_the_same_vectors_to_the_last_bit(tmp_path: Path):
    import onnx
    import onnxruntime

    onnx_encoder = encoder(int8(1))
    source = export_path(Path(resolve_model(BUNDLED_MODEL)), default_cache_dir(), "int8", lean=False)
    assert onnx_encoder.path == export_path(Path(resolve_model(BUNDLED_MODEL)), default_cache_dir(), "int8")
    # 5 copies of the mask (one per layer after the first) and 6 guards of two nodes each.
    assert lean(source, tmp_path / "lean.onnx") == 17
    assert lean(tmp_path / "lean.onnx", tmp_path / "again.onnx") == 0  # nothing left to take out
    ops = [n.op_type for n in onnx.load(str(tmp_path / "lean.onnx"), load_external_data=False).graph.node]
    assert "IsNaN" not in ops
    sample = onnx_encoder.tokenizer.encode_batch(texts()[:40])
    rows = sorted((e.ids for e in sample), key=len, reverse=True)
    vectors = []
    for path in (source, tmp_path / "lean.onnx"):
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        vectors.append(np.vstack([onnx_encoder._embed_batch(session, rows[i : i + 8]) for i in range(0, 40, 8)]))
    assert np.array_equal(vectors[0], vectors[1])
