"""FAISS index type by size: flat and HNSW answer alike, auto switches at the threshold, updates work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.index.embedded import EmbeddedReader
from bot.index.vectors import IndexPolicy, build_vector_index, describe, stored_vectors
from bot.settings import Settings
from tests.conftest import MULTI_CORPUS, SEED_CORPUS, dev_questions

QUESTIONS = ["d01", "d03", "d05", "d10", "d15"]


def _manifest(index: Path) -> dict:
    version = (index / "CURRENT").read_text().strip()
    return json.loads((index / "versions" / version / "manifest.json").read_text())


@pytest.fixture(scope="module")
def hnsw_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    index = tmp_path_factory.mktemp("hnsw-index")
    build_index(SEED_CORPUS, index, embedder, index_policy=IndexPolicy(choice="hnsw", hnsw_m=16, hnsw_storage="fp32"))
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
    hnsw = EmbeddedReader(hnsw_index, ef_search=200)
    flat = EmbeddedReader(seed_index)
    assert describe(hnsw.sentence_index)["ef_search"] == 200
    ids = list(range(hnsw.sentence_index.ntotal))
    np.testing.assert_allclose(hnsw.vectors("sentences", ids), flat.vectors("sentences", ids), atol=1e-6)


def test_stored_vectors_rebuild_an_index_after_a_removal():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1300)
    hnsw, info = build_vector_index(vectors, ids, 16, IndexPolicy(choice="hnsw", hnsw_storage="fp32"))
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


def _clustered(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(9).standard_normal((200, d))  # the same topics for data and queries
    x = centres[rng.integers(0, 200, n)] + 0.4 * rng.standard_normal((n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(("storage", "atol"), [("sq8", 0.02), ("fp16", 1e-3)])
def test_quantised_hnsw_is_written_mapped_searched_and_reconstructed(tmp_path: Path, storage: str, atol: float):
    vectors, queries = _clustered(3000), _clustered(50, seed=1)
    ids = np.arange(500, 3500)
    index, info = build_vector_index(vectors, ids, 32, IndexPolicy(choice="hnsw", hnsw_m=16, hnsw_storage=storage))
    assert info["kind"] == "hnsw" and info["storage"] == storage
    path = tmp_path / "q.faiss"
    faiss.write_index(index, str(path))
    fp32, _ = build_vector_index(vectors, ids, 32, IndexPolicy(choice="hnsw", hnsw_m=16, hnsw_storage="fp32"))
    faiss.write_index(fp32, str(tmp_path / "fp32.faiss"))
    saved = (tmp_path / "fp32.faiss").stat().st_size - path.stat().st_size
    assert saved >= 0.99 * 3000 * 32 * (3 if storage == "sq8" else 2)  # 1 or 2 bytes per dimension, not 4
    mapped = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)  # as EmbeddedReader
    assert describe(mapped)["storage"] == storage
    exact = faiss.IndexFlatIP(32)
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    found = [[hit for hit, _ in EmbeddedReader.search(mapped, q, 10)] for q in queries]
    recall = np.mean([len(set(f) & set(t + 500)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
    np.testing.assert_allclose(mapped.reconstruct(777), vectors[277], atol=atol)


def test_rebuilding_sq8_keeps_the_stored_codes(tmp_path: Path):
    vectors = _clustered(1000)
    policy = IndexPolicy(choice="hnsw", hnsw_m=16, hnsw_storage="sq8")
    first, _ = build_vector_index(vectors, np.arange(1000), 32, policy)
    ids, stored = stored_vectors(first)
    again, _ = build_vector_index(stored[1:], ids[1:], 32, policy, like=first)
    np.testing.assert_array_equal(stored_vectors(again)[1], stored[1:])  # no drift per rebuild
    retrained, _ = build_vector_index(stored[1:], ids[1:], 32, policy)
    assert not np.array_equal(stored_vectors(retrained)[1], stored[1:])  # what `like` avoids


def test_an_sq8_index_survives_an_incremental_build(tmp_path: Path, embedder: Embedder, multi_index: Path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(MULTI_CORPUS, corpus)
    shutil.copytree(multi_index / "cache", index / "cache")
    policy = IndexPolicy(choice="hnsw", hnsw_m=16, hnsw_storage="sq8")
    build_index(corpus, index, embedder, index_policy=policy)
    assert _manifest(index)["vector_index"]["sentences"]["storage"] == "sq8"
    old = EmbeddedReader(index)
    sql = "SELECT s.id FROM sentences s JOIN passages p ON p.id = s.passage_id WHERE p.article_id = 'wildfire'"
    kept = [r[0] for r in old.store.query(sql)]
    flood = "(SELECT id FROM passages WHERE article_id = 'flood')"
    n_pass = old.passage_index.ntotal - old.store.query(f"SELECT count(*) FROM {flood}")[0][0]
    n_sent = (
        old.sentence_index.ntotal - old.store.query(f"SELECT count(*) FROM sentences WHERE passage_id IN {flood}")[0][0]
    )
    (corpus / "flood.txt").unlink()  # a removal: HNSW cannot delete, so the build rebuilds it from its codes
    said: list[str] = []
    assert build_index(corpus, index, embedder, index_policy=policy, notify=said.append).removed == 1
    assert [m.split(" (")[0] for m in said if m.startswith("building")] == [
        f"building the HNSW index of {n} {kind}" for kind, n in (("passages", n_pass), ("sentences", n_sent))
    ]  # the build says what takes its time
    new = EmbeddedReader(index)
    assert _manifest(index)["vector_index"]["sentences"]["storage"] == "sq8"
    assert [r[0] for r in new.store.query(sql)] == kept
    np.testing.assert_array_equal(new.vectors("sentences", kept), old.vectors("sentences", kept))
