"""The Milvus store against a real local server: versions behind aliases, writes, the searches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bot.errors import IndexUnavailable
from bot.index.milvus.analysis import analysed, tokens
from bot.index.milvus.schema import DenseIndex
from bot.index.milvus.store import MilvusStore
from bot.index.postings import tokenize
from tests.milvus.conftest import MilvusServer, free_port

DIM = 8
TEXTS = [
    "The minister said taxes will rise next year.",
    "Running dogs were barking loudly in Idlib.",
    "He says the economy is growing quickly.",
    "Over 40 air strikes hit Idlib and Hama, SOHR confirmed.",
]


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _passages(ids: list[int], article: str, vectors: np.ndarray) -> list[dict]:
    return [
        {
            "id": i,
            "article_id": article,
            "paragraph": n,
            "window": 0,
            "kind": "body",
            "section": None,
            "text": TEXTS[n % len(TEXTS)],
            "content_hash": f"h{i}",
            "context_len": 0,
            "vector": vectors[n].tolist(),
            "terms": analysed([TEXTS[n % len(TEXTS)]])[0],
        }
        for n, i in enumerate(ids)
    ]


def _store(server: MilvusServer, prefix: str) -> MilvusStore:
    return MilvusStore(server.uri, prefix=prefix, timeout=10)


def test_analysis_gives_the_embedded_index_tokens():
    """The client-side analysis gives the tokens FTS5 gives, so BM25 matches alike on both backends."""
    # The same tokens FTS5 gives a query word (bot/index/postings.py), so BM25 matches alike.
    for word in ["Running", "Zürich", "air-strikes", "SOHR's"]:
        assert tuple(tokens([word])[0]) == tokenize(word)
    assert analysed(["Over 40 air strikes, SOHR confirmed"]) == ["over 40 air strike sohr confirm"]


def test_a_version_is_invisible_until_published_then_replaces_the_old(milvus_server, milvus_prefix):
    """A version being written is invisible to readers until the alias switch, which then replaces the old one."""
    store = _store(milvus_server, milvus_prefix)
    assert store.live_version() is None
    first = store.create_version(DIM, DenseIndex())
    store.insert(first, "passages", _passages([0, 1], "a", _vectors(2)))
    store.flush(first)
    assert store.live_version() is None  # written, not published
    store.publish(first)
    assert store.live_version() == first
    assert store.count(first, "passages") == 2

    second = store.create_version(DIM, DenseIndex())
    store.insert(second, "passages", _passages([0, 1, 2], "a", _vectors(3)))
    assert store.live_version() == first  # readers still see the old one while the new is written
    store.publish(second)
    assert store.live_version() == second
    third = store.create_version(DIM, DenseIndex())
    store.publish(third)
    # The live version and the one before it are kept; older ones are dropped after the switch.
    assert store.versions() == [second, third]


def test_dense_bm25_and_hybrid_search(milvus_server, milvus_prefix):
    """Dense, BM25 and hybrid (RRF) searches on the server find the rows they should."""
    store = _store(milvus_server, milvus_prefix)
    version = store.create_version(DIM, DenseIndex())
    vectors = _vectors(4)
    store.insert(version, "passages", _passages([10, 11, 12, 13], "a", vectors))
    store.flush(version)

    hits = store.dense(version, "passages", [vectors[2]], k=2)[0]
    assert hits[0][0] == 12 and hits[0][1] == pytest.approx(1.0, abs=1e-4)
    assert len(hits) == 2 and hits[0][1] >= hits[1][1]

    # Stemmed on both sides: "strike" finds "strikes", "confirming" finds "confirmed".
    bm25 = store.bm25(version, "passages", analysed(["strike confirming", "barking dog", "nobel"]), k=3)
    assert [h[0] for h in bm25[0]] == [13]
    assert [h[0] for h in bm25[1]] == [11] and bm25[1][0][1] > 0
    assert bm25[2] == []

    fused = store.hybrid(version, "passages", vectors[0], analysed(["Idlib"])[0], k=4)
    ids = [i for i, _ in fused]
    assert set(ids[:3]) == {10, 11, 13}  # the dense best and both rows saying "Idlib"
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(fused))


def test_rows_of_an_article_are_added_and_removed(milvus_server, milvus_prefix):
    """An article's rows can be inserted and deleted in place in a live version."""
    store = _store(milvus_server, milvus_prefix)
    version = store.create_version(DIM, DenseIndex())
    store.insert(version, "passages", _passages([1, 2], "a", _vectors(2, 1)) + _passages([3], "b", _vectors(1, 2)))
    store.publish(version)
    store.delete(version, "passages", 'article_id == "a"')
    assert sorted(r["id"] for r in store.query(version, "passages", "id >= 0", ["id"])) == [3]
    assert store.bm25(version, "passages", analysed(["barking"]), 5)[0] == []  # only article a said it
    store.insert(version, "passages", _passages([4], "c", _vectors(1, 3)))
    got = store.get(version, "passages", [3, 4, 99], ["id", "article_id", "section", "text"])
    assert {(r["id"], r["article_id"], r["section"]) for r in got} == {(3, "b", None), (4, "c", None)}


def test_unreachable_server_is_a_one_line_index_error():
    """An unreachable server is a one-line IndexUnavailable with a hint, within the timeout."""
    store = MilvusStore(f"http://127.0.0.1:{free_port()}", prefix="nothing", timeout=2)
    with pytest.raises(IndexUnavailable) as err:
        store.live_version()
    message = str(err.value)
    assert "\n" not in message and "cannot reach Milvus at http://127.0.0.1:" in message
    assert "make milvus" in err.value.hint


def test_a_missing_collection_is_an_index_error_and_the_store_recovers(milvus_server, milvus_prefix):
    """A collection dropped under the store is a one-line index error; the store works again once it is back."""
    store = _store(milvus_server, milvus_prefix)
    with pytest.raises(IndexUnavailable) as err:
        store.count("v0_missing", "passages")
    assert "\n" not in str(err.value) and "incomplete" in str(err.value)
    version = store.create_version(DIM, DenseIndex())
    assert store.count(version, "passages") == 0


def test_the_store_recovers_after_the_server_restarts(milvus_server, milvus_prefix):
    """The store reconnects by itself after the server restarts (collections loaded again on first use)."""
    store = _store(milvus_server, milvus_prefix)
    version = store.create_version(DIM, DenseIndex())
    store.insert(version, "passages", _passages([7, 8], "a", _vectors(2, 4)))
    store.flush(version)
    store.publish(version)
    milvus_server.stop()
    with pytest.raises(IndexUnavailable) as err:
        store.count(version, "passages")
    assert "\n" not in str(err.value)
    milvus_server.start()
    assert store.live_version() == version
    assert store.count(version, "passages") == 2
    assert store.bm25(version, "passages", analysed(["barking"]), 2)[0][0][0] == 8
