#!/usr/bin/env python3
"""Scale: exact vs approximate FAISS indexes at up to 1,000,000 passage vectors.

For each index type (flat = exact IndexFlatIP, hnsw = what FAISS_INDEX=hnsw writes, ivf =
IndexIVFFlat): build time, size on disk, load time with and without memory-mapping, RSS (and its
anonymous part: what mmap cannot share or drop), single-query search p50/p95 and recall@10
against exact search. Each index is loaded and searched in a fresh subprocess, so RSS is its own.

Vectors are synthetic (embedding 1M real passages takes ~4 h here):
- "clustered" (default): points of low intrinsic dimension plus noise, as sentence embeddings
  are; HNSW recall on these is close to what real MiniLM vectors give.
- "random": uniform on the sphere, a worst case where every neighbour is nearly as far as any
  other, which makes approximate recall look misleadingly low.
The floor is exact search (flat) on the same vectors in the same run; the "with embedding"
column adds the query embedding p50 measured here with the ONNX backend (--embed-backend).

    python benchmarks/bench_scale.py --n 100000            # a few minutes
    python benchmarks/bench_scale.py                       # 1M: ~15-25 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import dev_questions, load_average, median, pct, report

K = 10
DIM = 384


def make_vectors(n: int, kind: str, seed: int, out: Path) -> np.memmap:
    """n unit vectors written to a float32 memmap (generated in chunks to bound memory)."""
    rng = np.random.default_rng(seed)
    latent = 64
    basis = np.linalg.qr(np.random.default_rng(1).standard_normal((DIM, latent)))[0].astype(np.float32)
    centres = np.random.default_rng(2).standard_normal((max(16, n // 250), latent)).astype(np.float32)
    vectors = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=(n, DIM))
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        if kind == "random":
            x = rng.standard_normal((m, DIM), dtype=np.float32)
        else:
            z = centres[rng.integers(0, len(centres), m)] + 0.6 * rng.standard_normal((m, latent), dtype=np.float32)
            x = z @ basis.T + 0.08 * rng.standard_normal((m, DIM), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        vectors[start : start + m] = x
    vectors.flush()
    return vectors


def build(kind: str, vectors: np.ndarray, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """An index of `kind` over `vectors`, built as the product (or a tuned IVF) would build it."""
    import faiss

    from bot.vector_index import IndexPolicy, new_vector_index

    n = len(vectors)
    ids = np.arange(n, dtype=np.int64)
    if kind in ("flat", "hnsw"):
        policy = IndexPolicy(hnsw_m=args.m, hnsw_ef_construction=args.ef_construction)
        index = new_vector_index(kind, DIM, policy)
        for start in range(0, n, 100_000):
            index.add_with_ids(np.ascontiguousarray(vectors[start : start + 100_000]), ids[start : start + 100_000])
        return index
    nlist = max(16, int(4 * math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(DIM)
    index = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = np.ascontiguousarray(vectors[np.random.default_rng(3).permutation(n)[: min(n, 40 * nlist)]])
    index.train(sample)
    for start in range(0, n, 100_000):
        index.add_with_ids(np.ascontiguousarray(vectors[start : start + 100_000]), ids[start : start + 100_000])
    return index


def probe(args: argparse.Namespace) -> None:
    """In a fresh process: load one index file, measure RSS, search latency and recall; print JSON."""
    import faiss
    import psutil

    proc = psutil.Process()
    before = proc.memory_info()
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if args.mmap else 0  # as IndexReader reads
    start = time.perf_counter()
    index = faiss.read_index(args.probe, flags)
    load = time.perf_counter() - start
    loaded = proc.memory_info()
    queries = np.load(args.query_file)
    truth = np.load(args.truth)
    faiss.omp_set_num_threads(1)  # a bot answers one question per thread: measure one core's latency
    results = []
    settings = [None]
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if isinstance(inner, faiss.IndexHNSW):
        settings = [16, 32, 64, 128]
    elif isinstance(inner, faiss.IndexIVF):
        settings = [8, 16, 32, 64]
    for setting in settings:
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = setting
        elif isinstance(inner, faiss.IndexIVF):
            inner.nprobe = setting
        times, found = [], []
        for q in queries:
            t = time.perf_counter()
            _, ids = index.search(q.reshape(1, -1), K)
            times.append(time.perf_counter() - t)
            found.append(ids[0])
        recall = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))
        results.append(
            {"param": setting, "p50_ms": pct(times, 50) * 1e3, "p95_ms": pct(times, 95) * 1e3, "recall": recall}
        )
    after = proc.memory_info()
    print(
        json.dumps(
            {
                "load_s": load,
                "rss_loaded_mb": loaded.rss / 2**20,
                "anon_loaded_mb": (loaded.rss - loaded.shared) / 2**20,
                "rss_mb": after.rss / 2**20,
                "anon_mb": (after.rss - after.shared) / 2**20,
                "rss_before_mb": before.rss / 2**20,
                "searches": results,
            }
        )
    )


def run_probe(path: Path, queries: Path, truth: Path, mmap: bool) -> dict:
    cmd = [sys.executable, __file__, "--probe", str(path), "--query-file", str(queries), "--truth", str(truth)]
    out = subprocess.run([*cmd, *(["--mmap"] if mmap else [])], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def query_embedding_p50(backend: str) -> float:
    """Median seconds to embed one dev question (the part of a query that is not search)."""
    from bot.embedder import Embedder
    from bot.settings import BUNDLED_MODEL

    embedder = Embedder(BUNDLED_MODEL, backend=backend)  # type: ignore[arg-type]
    embedder.encode(["warm up"])
    times = []
    for q in dev_questions() * 3:
        t = time.perf_counter()
        embedder.encode([q])
        times.append(time.perf_counter() - t)
    return median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="vectors (default 1,000,000)")
    p.add_argument("--vectors", choices=["clustered", "random"], default="clustered")
    p.add_argument("--types", default="flat,hnsw,ivf", help="comma-separated index types")
    p.add_argument("--queries", type=int, default=200, help="queries timed one by one")
    p.add_argument("--m", type=int, default=32, help="HNSW M")
    p.add_argument("--ef-construction", type=int, default=80)
    p.add_argument("--embed-backend", default="onnx", help="backend for the query-embedding figure (torch|onnx)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/report-bot-scale"))
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--truth", help=argparse.SUPPRESS)
    p.add_argument("--query-file", help=argparse.SUPPRESS)
    p.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.probe:
        return probe(args)
    import faiss

    work = args.workdir / f"{args.vectors}-{args.n}"
    work.mkdir(parents=True, exist_ok=True)
    print(f"scale: {args.n:,} {args.vectors} vectors, dim {DIM}; load {load_average()}", flush=True)
    t, vectors = time.perf_counter(), make_vectors(args.n + args.queries, args.vectors, 0, work / "vectors.npy")
    base, queries = vectors[: args.n], np.ascontiguousarray(vectors[args.n :])
    print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    exact = faiss.IndexFlatIP(DIM)
    for start in range(0, args.n, 100_000):
        exact.add(np.ascontiguousarray(base[start : start + 100_000]))
    _, truth = exact.search(queries, K)
    del exact
    np.save(work / "queries.npy", queries)
    np.save(work / "truth.npy", truth)
    embed = query_embedding_p50(args.embed_backend)
    print(f"  query embedding p50 ({args.embed_backend}): {embed * 1e3:.1f} ms", flush=True)

    rows = []
    floor_p50 = None
    for kind in args.types.split(","):
        load_at_build = load_average()
        t = time.perf_counter()
        index = build(kind, base, args)
        build_s = time.perf_counter() - t
        path = work / f"{kind}.faiss"
        faiss.write_index(index, str(path))
        del index
        size_mb = path.stat().st_size / 2**20
        print(f"  {kind}: built in {build_s:.1f} s, {size_mb:,.0f} MiB; probing", flush=True)
        mm = run_probe(path, work / "queries.npy", work / "truth.npy", mmap=True)
        ram = run_probe(path, work / "queries.npy", work / "truth.npy", mmap=False)
        for s in mm["searches"]:
            if kind == "flat":
                floor_p50 = s["p50_ms"]
            rows.append(
                {
                    "index": kind,
                    "param": {"hnsw": "efSearch", "ivf": "nprobe"}.get(kind, "-")
                    + ("" if s["param"] is None else f"={s['param']}"),
                    "p50_ms": s["p50_ms"],
                    "p95_ms": s["p95_ms"],
                    "p50_with_embed_ms": s["p50_ms"] + embed * 1e3,
                    "x_exact_p50": s["p50_ms"] / floor_p50 if floor_p50 else float("nan"),
                    "recall@10": s["recall"],
                    "rss_mmap_mb": mm["rss_mb"],
                    "anon_mmap_mb": mm["anon_mb"],
                    "rss_ram_mb": ram["rss_mb"],
                    "load_mmap_s": mm["load_s"],
                    "load_ram_s": ram["load_s"],
                    "disk_mb": size_mb,
                    "build_s": build_s,
                    "load_at_build": load_at_build,
                }
            )
        # Saved after each type, so a long run that is stopped keeps what it measured.
        report(
            f"scale-{args.vectors}-{args.n}",
            rows,
            {"n": args.n, "vectors": args.vectors, "query_embedding_ms": embed * 1e3, "backend": args.embed_backend},
        )


if __name__ == "__main__":
    main()
