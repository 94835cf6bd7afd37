"""FAISS index type by size: flat and HNSW answer alike, auto switches at the threshold, updates work."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from bot.build import build_index
from bot.embedder import Embedder
from bot.engine import Engine
from bot.settings import Settings
from bot.store import IndexReader
from bot.vector_index import IndexPolicy, build_vector_index, describe, stored_vectors
from tests.conftest import SEED_CORPUS, dev_questions

QUESTIONS = ["d01", "d03", "d05", "d10", "d15"]


def _manifest(index: Path) -> dict:
    version = (index / "CURRENT").read_text().strip()
    return json.loads((index / "versions" / version / "manifest.json").read_text())


@pytest.fixture(scope="module")
def hnsw_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    index = tmp_path_factory.mktemp("hnsw-index")
    build_index(SEED_CORPUS, index, embedder, index_policy=IndexPolicy(choice="hnsw", hnsw_m=16))
    return index


def test_auto_switches_at_the_threshold():
    policy = IndexPolicy(choice="auto", approx_threshold=100)
    assert policy.kind_for(99) == "flat"
    assert policy.kind_for(100) == "hnsw"
    assert IndexPolicy(choice="flat", approx_threshold=1).kind_for(10**6) == "flat"
    assert IndexPolicy(choice="hnsw").kind_for(1) == "hnsw"
    with pytest.raises(ValueError, match="unknown FAISS index type"):
        IndexPolicy(choice="ivf").kind_for(10)


def test_manifest_records_the_type_chosen_per_index(tmp_path: Path, embedder: Embedder, seed_index: Path):
    # The seed corpus has fewer passages than sentences: a threshold between the two splits them.
    counts = _manifest(seed_index)["counts"]
    threshold = counts["passages"] + 1
    assert threshold <= counts["sentences"]
    build_index(SEED_CORPUS, tmp_path, embedder, index_policy=IndexPolicy(approx_threshold=threshold))
    kinds = _manifest(tmp_path)["vector_index"]
    assert kinds["passages"] == {"kind": "flat", "vectors": counts["passages"]}
    assert kinds["sentences"]["kind"] == "hnsw" and kinds["sentences"]["vectors"] == counts["sentences"]
    assert _manifest(seed_index)["vector_index"]["passages"]["kind"] == "flat"  # default threshold


def test_hnsw_index_answers_the_same_top_passage_as_flat(engine: Engine, hnsw_index: Path, embedder: Embedder):
    hnsw = Engine(Settings(_env_file=None, index_dir=hnsw_index), embedder=embedder)
    assert _manifest(hnsw_index)["vector_index"]["passages"]["kind"] == "hnsw"
    by_id = {q["id"]: q for q in dev_questions()}
    for qid in QUESTIONS:
        flat_top = engine.answer(by_id[qid]["q"]).quotes[0]
        hnsw_top = hnsw.answer(by_id[qid]["q"]).quotes[0]
        assert (hnsw_top.text, hnsw_top.quote) == (flat_top.text, flat_top.quote), qid
        assert hnsw_top.score == pytest.approx(flat_top.score, abs=1e-5)


def test_hnsw_reader_reconstructs_stored_vectors_and_takes_ef_search(hnsw_index: Path, seed_index: Path):
    hnsw = IndexReader(hnsw_index, ef_search=200)
    flat = IndexReader(seed_index)
    assert describe(hnsw.sentence_index)["ef_search"] == 200
    ids = list(range(hnsw.sentence_index.ntotal))
    np.testing.assert_allclose(hnsw.sentence_vectors(ids), flat.sentence_vectors(ids), atol=1e-6)


def test_stored_vectors_rebuild_an_index_after_a_removal():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1300)
    hnsw, info = build_vector_index(vectors, ids, 16, IndexPolicy(choice="hnsw"))
    assert info["kind"] == "hnsw"
    with pytest.raises(RuntimeError):
        hnsw.remove_ids(np.array([1000], dtype=np.int64))  # why incremental builds rebuild HNSW
    got_ids, got = stored_vectors(hnsw)
    keep = got_ids != 1000
    rebuilt, info = build_vector_index(got[keep], got_ids[keep], 16, IndexPolicy(approx_threshold=1000))
    assert info == {"kind": "flat", "vectors": 299}
    _, found = rebuilt.search(vectors[1:2], 1)
    assert found[0][0] == 1001
    assert rebuilt.remove_ids(np.array([1001], dtype=np.int64)) == 1  # flat updates in place
    assert isinstance(rebuilt, faiss.IndexIDMap2)
