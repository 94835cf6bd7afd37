"""Which FAISS index holds a set of vectors, chosen by size: exact below a threshold, HNSW above.

Exact search (`IndexFlatIP`) costs time linear in the number of vectors (~15 ms at 100k, ~140 ms
at 1M on 2 cores); HNSW answers in ~1 ms at 1M with recall@10 ≈ 0.98 on real MiniLM vectors, but
takes minutes to build and cannot delete. Both are wrapped in `IndexIDMap2`, so ids are ours
(passage and sentence ids) and `reconstruct(id)` works on either.

Storage: exact indexes keep float32 vectors (the small-index default, exact scores). HNSW stores
its vectors as `FAISS_HNSW_STORAGE`: "sq8" (default; 8-bit scalar quantisation per dimension, a
quarter of float32, cosine to the original ≥ 0.9997), "fp16" (half) or "fp32". At 1M passages
and ~2.8M sentences float32 HNSW needs ~6 GiB; sq8 brings both under 3 GiB (docs/performance.md).
sq8 is trained (per-dimension ranges) on the vectors of the build that first writes it; a
rebuild reuses the ranges of the index it starts from, so re-encoding stored codes is lossless.

How updates work (for incremental builds):
- flat: the written index supports `remove_ids` and `add_with_ids` in place.
- hnsw: `remove_ids` is not supported. Read the stored vectors back with `stored_vectors()`,
  drop and add rows, and call `build_vector_index()` again: it decides the type afresh from the new
  size, so an index that shrinks below the threshold goes back to flat, and one that grows past it
  becomes HNSW at that build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import faiss
import numpy as np

IndexKind = Literal["flat", "hnsw"]
#: Accepted values of the FAISS_INDEX setting.
INDEX_CHOICES = ("auto", "flat", "hnsw")
#: Accepted values of FAISS_HNSW_STORAGE, and the FAISS scalar quantiser of each (None: float32).
STORAGE_TYPES: dict[str, int | None] = {
    "fp32": None,
    "fp16": faiss.ScalarQuantizer.QT_fp16,
    "sq8": faiss.ScalarQuantizer.QT_8bit,
}


@dataclass(frozen=True)
class IndexPolicy:
    """The FAISS_* settings: which index type to write and how HNSW is tuned."""

    choice: str = "auto"
    approx_threshold: int = 100_000
    hnsw_m: int = 16
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128
    #: How HNSW stores vectors: "sq8", "fp16" or "fp32" (exact indexes always keep float32).
    hnsw_storage: str = "sq8"

    @classmethod
    def from_settings(cls, settings: Any) -> IndexPolicy:
        """The policy of a `Settings` object."""
        return cls(
            choice=settings.faiss_index,
            approx_threshold=settings.faiss_approx_threshold,
            hnsw_m=settings.faiss_hnsw_m,
            hnsw_ef_construction=settings.faiss_hnsw_ef_construction,
            hnsw_ef_search=settings.faiss_hnsw_ef_search,
            hnsw_storage=settings.faiss_hnsw_storage,
        )

    def kind_for(self, n: int) -> IndexKind:
        """The index type for `n` vectors: the setting, or by size when it is "auto"."""
        if self.choice == "flat":
            return "flat"
        if self.choice == "hnsw":
            return "hnsw"
        if self.choice != "auto":
            raise ValueError(f"unknown FAISS index type {self.choice!r}; expected one of {INDEX_CHOICES}")
        return "hnsw" if n >= self.approx_threshold else "flat"


def new_vector_index(
    kind: IndexKind, dimension: int, policy: IndexPolicy, *, train_on: np.ndarray | None = None
) -> faiss.IndexIDMap2:
    """An empty inner-product index of `kind` that takes our ids (`add_with_ids`).

    HNSW over quantised storage must learn its value ranges first: from `train_on` (the vectors
    to add, or a sample of them), or later through `index.train`.
    """
    if kind == "flat":
        inner: faiss.Index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        if policy.hnsw_storage not in STORAGE_TYPES:
            raise ValueError(f"unknown HNSW storage {policy.hnsw_storage!r}; expected one of {tuple(STORAGE_TYPES)}")
        qtype = STORAGE_TYPES[policy.hnsw_storage]
        hnsw: faiss.IndexHNSW
        if qtype is None:
            hnsw = faiss.IndexHNSWFlat(dimension, policy.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        else:
            # The stubs want a ScalarQuantizer; FAISS's constructor takes its type (QT_8bit...).
            hnsw = faiss.IndexHNSWSQ(dimension, qtype, policy.hnsw_m, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
            if train_on is not None and len(train_on):
                hnsw.train(np.ascontiguousarray(train_on, dtype=np.float32))
        hnsw.hnsw.efConstruction = policy.hnsw_ef_construction
        hnsw.hnsw.efSearch = policy.hnsw_ef_search
        inner = hnsw
    else:
        raise ValueError(f"unknown FAISS index type {kind!r}")
    return faiss.IndexIDMap2(inner)


def build_vector_index(
    vectors: np.ndarray,
    ids: np.ndarray | list[int],
    dimension: int,
    policy: IndexPolicy,
    *,
    like: faiss.Index | None = None,
) -> tuple[faiss.Index, dict[str, Any]]:
    """The index for these vectors and its description for the manifest.

    `like`: the index these vectors were read from; when it holds sq8 codes of the same type, its
    trained ranges are reused, so the rebuilt codes equal the stored ones (no drift per rebuild).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dimension)
    index = new_vector_index(policy.kind_for(len(vectors)), dimension, policy)
    inner = faiss.downcast_index(index.index)
    if not index.is_trained and len(vectors) and isinstance(inner, faiss.IndexHNSW):
        # Quantised storage (the only kind built untrained): learn or reuse value ranges.
        source = _quantiser(like) if like is not None else None
        storage = faiss.downcast_index(inner.storage)
        if source is not None and isinstance(storage, faiss.IndexScalarQuantizer) and source.qtype == storage.sq.qtype:
            storage.sq.trained = source.trained
            storage.is_trained = True
        else:
            storage.train(vectors)
        inner.is_trained = index.is_trained = True
    if len(vectors):
        index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
    return index, describe(index)


def _quantiser(index: faiss.Index) -> faiss.ScalarQuantizer | None:
    """The trained scalar quantiser of an HNSW index over quantised storage, if it is one."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    storage = faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSWSQ) else None
    return storage.sq if isinstance(storage, faiss.IndexScalarQuantizer) else None


def storage_of(index: faiss.Index) -> str:
    """How an index stores its vectors: "fp32", "fp16" or "sq8"."""
    sq = _quantiser(index)
    if sq is None:
        return "fp32"
    return next(name for name, qtype in STORAGE_TYPES.items() if qtype == sq.qtype)


def describe(index: faiss.Index) -> dict[str, Any]:
    """What the manifest records about an index: its type, size and HNSW parameters."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    info: dict[str, Any] = {"kind": "flat", "vectors": int(index.ntotal)}
    if isinstance(inner, faiss.IndexHNSW):
        m = int(inner.hnsw.nb_neighbors(1))  # type: ignore[attr-defined]  # missing from faiss's stubs
        info.update(kind="hnsw", m=m, ef_construction=int(inner.hnsw.efConstruction))
        info["ef_search"] = int(inner.hnsw.efSearch)
        info["storage"] = storage_of(inner)
    return info


def set_ef_search(index: faiss.Index, ef_search: int) -> None:
    """Apply the efSearch setting to an HNSW index (read from disk); flat indexes ignore it."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = ef_search


def id_mapped(index: faiss.Index) -> faiss.IndexIDMap:
    """The index as the `IndexIDMap2` it is (every index written here is one; read back, it is that class)."""
    if not isinstance(index, faiss.IndexIDMap):
        raise TypeError(f"{type(index).__name__} does not map ids: every index this module writes does")
    return index


def stored_vectors(index: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) held by an index of either type, to rebuild it after changes."""
    n = int(index.ntotal)
    if not n:
        return np.zeros(0, np.int64), np.zeros((0, index.d), np.float32)
    index = id_mapped(index)
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    vectors = index.index.reconstruct_n(0, n)
    return ids, np.ascontiguousarray(vectors, dtype=np.float32)


class SegmentedIndex:
    """Several FAISS files searched as one: an index version's base plus the segments appended to it.

    Adding an article to a large index then writes only the new vectors (a small flat segment),
    while the base files are hard-linked from the previous version instead of read and rewritten
    (~580 MB at 100,000 passages). Ids are disjoint between segments (new rows get ids above the
    base's), so merging the per-segment top-k by score gives the top-k of the union. Offers the
    part of the FAISS interface the reader uses: `ntotal`, `d`, `search`, `reconstruct`.
    """

    def __init__(self, segments: list[faiss.Index]) -> None:
        self.segments = segments
        self.d = segments[0].d
        self.ntotal = sum(int(s.ntotal) for s in segments)

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k best over all segments, best first; -1 ids pad a short result."""
        parts = [s.search(x, min(k, int(s.ntotal))) for s in self.segments if s.ntotal]
        scores = np.hstack([p[0] for p in parts])
        ids = np.hstack([p[1] for p in parts])
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)

    def reconstruct(self, key: int) -> np.ndarray:
        """The stored vector of id `key`, from whichever segment holds it (newest first)."""
        for segment in reversed(self.segments):
            try:
                # asarray: the stubs' first overload is torch's (faiss.contrib.torch_utils, unused here).
                return np.asarray(segment.reconstruct(key))
            except RuntimeError:
                continue
        raise KeyError(key)


def segment_vectors(index: faiss.Index | SegmentedIndex) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of a plain or segmented index, to merge its segments into one."""
    if not isinstance(index, SegmentedIndex):
        return stored_vectors(index)
    parts = [stored_vectors(s) for s in index.segments]
    return np.concatenate([p[0] for p in parts]), np.vstack([p[1] for p in parts])
