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
- "minilm": the real model's vectors of distinct sentences from the synthetic corpus generator,
  to check the clustered ones against at sizes that can be embedded here (100,000 in ~12 min).
The floor is exact search (flat) on the same vectors in the same run; the "with embedding"
column adds the query embedding p50 measured here with the ONNX backend (--embed-backend).

    python benchmarks/bench_scale.py --n 100000            # a few minutes
    python benchmarks/bench_scale.py                       # 1M: ~15-25 min on 2 cores

--engine measures what the engine holds instead: the passage index (n vectors) *and* the sentence
index (2.8 sentences per passage, as the seed corpus has), both built as the product builds them
(FAISS_INDEX=auto above the threshold: HNSW over FAISS_HNSW_STORAGE, default sq8), loaded
memory-mapped as `EmbeddedReader` loads them, in one process that also loads the query embedder and
answers like `rank_passages`: embed a dev question, search 64 sentences and 32 passages, read back
the vectors of every sentence of the candidate passages and score them. Reports that process's RSS
(after load and after the queries), its worst case (anonymous memory + every mapped byte), p50/p95
per query including the embedding, and recall@10 of both searches against exact search.

    python benchmarks/bench_scale.py --engine --n 200000   # ~5-10 min
    python benchmarks/bench_scale.py --engine              # 1M passages + 2.8M sentences
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
    if kind == "minilm":
        return embed_sentences(n, seed, out)
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


def embed_sentences(n: int, seed: int, out: Path) -> np.memmap:
    """Real all-MiniLM-L6-v2 vectors (onnx) of n distinct synthetic news sentences, kept in `out`.

    About 150 sentences/s on 2 cores, so an existing file of the right shape is reused.
    """
    if out.exists():
        kept = np.load(out, mmap_mode="r")
        if kept.shape == (n, DIM):
            print(f"  reusing {n:,} MiniLM vectors from {out}", flush=True)
            return kept  # type: ignore[return-value]
    from synthetic_corpus import sentences

    from bot.embedding.embedder import Embedder
    from bot.settings import BUNDLED_MODEL

    texts = sentences(n, seed)
    embedder = Embedder(BUNDLED_MODEL, backend="onnx")
    partial = out.with_suffix(".partial.npy")
    vectors = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32, shape=(n, DIM))
    start_time = time.perf_counter()
    for start in range(0, n, 4096):
        vectors[start : start + 4096] = embedder.encode(texts[start : start + 4096])
        done = min(n, start + 4096)
        rate = done / (time.perf_counter() - start_time)
        print(f"  embedded {done:,} of {n:,} sentences ({rate:.0f}/s)", flush=True)
    vectors.flush()
    del vectors
    partial.rename(out)
    return np.load(out, mmap_mode="r")  # type: ignore[return-value]


def training_sample(vectors: np.ndarray) -> np.ndarray:
    """Up to 200,000 of the vectors, in order, for quantised storage to learn its value ranges."""
    n = len(vectors)
    return np.ascontiguousarray(vectors[np.sort(np.random.default_rng(4).permutation(n)[: min(n, 200_000)])])


def build(kind: str, vectors: np.ndarray, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """An index of `kind` over `vectors`, built as the product (or a tuned IVF) would build it."""
    import faiss

    from bot.index.vectors import IndexPolicy, new_vector_index

    n = len(vectors)
    ids = np.arange(n, dtype=np.int64)
    if kind in ("flat", "hnsw"):
        policy = IndexPolicy(hnsw_m=args.m, hnsw_ef_construction=args.ef_construction)
        policy = IndexPolicy(**{**policy.__dict__, "hnsw_storage": args.storage or "fp32"})
        # Quantised HNSW storage learns its value ranges first, from a sample as the product does.
        index = new_vector_index(kind, DIM, policy, train_on=training_sample(vectors))
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
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if args.mmap else 0  # as EmbeddedReader reads
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
    from bot.embedding.embedder import Embedder
    from bot.settings import BUNDLED_MODEL

    embedder = Embedder(BUNDLED_MODEL, backend=backend)  # type: ignore[arg-type]
    embedder.encode(["warm up"])
    times = []
    for q in dev_questions() * 3:
        t = time.perf_counter()
        embedder.encode([q])
        times.append(time.perf_counter() - t)
    return median(times)


SENTENCES_PER_PASSAGE = 2.8
SENTENCE_K, PASSAGE_K = 64, 32  # bot.retrieval.search.SENTENCE_CANDIDATES, PASSAGE_CANDIDATES


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Ids of the exact top k, searched in chunks so that millions of vectors need not be copied."""
    import faiss

    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.full((len(queries), k), -1, np.int64)
    for start in range(0, len(vectors), 200_000):
        chunk = faiss.IndexFlatIP(DIM)
        chunk.add(np.ascontiguousarray(vectors[start : start + 200_000]))
        s, i = chunk.search(queries, k)
        both_s, both_i = np.hstack([best_s, s]), np.hstack([best_i, i + start])
        order = np.argsort(-both_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(both_s, order, 1), np.take_along_axis(both_i, order, 1)
    return best_i


def engine_policy(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The product's policy (settings defaults), with the command line's overrides."""
    from bot.index.vectors import IndexPolicy
    from bot.settings import Settings

    policy = IndexPolicy.from_settings(Settings(_env_file=None))
    overrides = {"hnsw_storage": args.storage, "hnsw_m": args.engine_m, "hnsw_ef_construction": args.engine_efc}
    return IndexPolicy(**{**policy.__dict__, **{k: v for k, v in overrides.items() if v is not None}})


def build_like_product(vectors: np.ndarray, policy, label: str) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    """The index the product writes for these vectors (type by size), added in chunks from disk."""
    from bot.index.vectors import new_vector_index

    n = len(vectors)
    t = time.perf_counter()
    index = new_vector_index(policy.kind_for(n), DIM, policy, train_on=training_sample(vectors))
    for start in range(0, n, 100_000):
        end = min(n, start + 100_000)
        index.add_with_ids(np.ascontiguousarray(vectors[start:end]), np.arange(start, end, dtype=np.int64))
        print(f"    {label}: {end:,}/{n:,} added, {time.perf_counter() - t:.0f} s", flush=True)
    return index, time.perf_counter() - t


def engine_probe(args: argparse.Namespace) -> None:
    """In a fresh process: the engine's memory and per-question work over both indexes; print JSON."""
    import faiss
    import psutil

    from bot.embedding.embedder import Embedder
    from bot.index.manifest import EmbeddedReader
    from bot.index.vectors import set_ef_search
    from bot.settings import BUNDLED_MODEL

    proc = psutil.Process()
    embedder = Embedder(BUNDLED_MODEL, backend=args.embed_backend)
    embedder.encode(["warm up"])
    with_model = proc.memory_info().rss
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY  # as EmbeddedReader._read_faiss
    t = time.perf_counter()
    passages = faiss.read_index(args.passage_file, flags)
    sentences = faiss.read_index(args.sentence_file, flags)
    load_s = time.perf_counter() - t
    loaded = proc.memory_info()
    n_pass, n_sent = int(passages.ntotal), int(sentences.ntotal)
    # Sentence ids of passage p: first[p] .. first[p + 1] - 1, ~2.8 per passage as in the corpus.
    first = np.floor(np.arange(n_pass + 1) * (n_sent / n_pass)).astype(np.int64)
    owner_of = lambda sid: int(np.searchsorted(first, sid, side="right") - 1)  # noqa: E731
    queries = np.load(args.query_file)
    truth_p, truth_s = np.load(args.truth), np.load(args.sentence_truth)
    questions = dev_questions()
    rows = []
    for ef in [int(e) for e in args.ef_search.split(",")]:
        set_ef_search(passages, ef)
        set_ef_search(sentences, ef)
        total, search, rec_p, rec_s, reconstructed = [], [], [], [], []
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            embedder.encode([questions[i % len(questions)]])  # the real question's cost; q is searched
            t1 = time.perf_counter()
            sent_hits = EmbeddedReader.search(sentences, q, SENTENCE_K)
            pass_hits = dict(EmbeddedReader.search(passages, q, PASSAGE_K))
            candidates = sorted({owner_of(sid) for sid, _ in sent_hits} | set(pass_hits))
            ids = [sid for pid in candidates for sid in range(first[pid], first[pid + 1])]
            sims = np.vstack([sentences.reconstruct(sid) for sid in ids]) @ q  # EmbeddedReader.sentence_vectors
            missing = [pid for pid in candidates if pid not in pass_hits]
            if missing:
                _ = np.vstack([passages.reconstruct(pid) for pid in missing]) @ q
            _ = sims.max()
            t2 = time.perf_counter()
            total.append(t2 - t0)
            search.append(t2 - t1)
            reconstructed.append(len(ids))
            rec_p.append(len(set(list(pass_hits)[:K]) & set(truth_p[i])) / K)
            rec_s.append(len({sid for sid, _ in sent_hits[:K]} & set(truth_s[i])) / K)
        rows.append(
            {
                "ef_search": ef,
                "p50_ms": pct(total, 50) * 1e3,
                "p95_ms": pct(total, 95) * 1e3,
                "search_p50_ms": pct(search, 50) * 1e3,
                "search_p95_ms": pct(search, 95) * 1e3,
                "recall_passages": float(np.mean(rec_p)),
                "recall_sentences": float(np.mean(rec_s)),
                "reconstructed_per_query": float(np.mean(reconstructed)),
            }
        )
    after = proc.memory_info()
    files = {str(Path(args.passage_file).resolve()), str(Path(args.sentence_file).resolve())}
    mapped = sum(Path(f).stat().st_size for f in files)
    resident = sum(m.rss for m in proc.memory_maps(grouped=True) if m.path in files)
    print(
        json.dumps(
            {
                "load_s": load_s,
                "rss_model_mb": with_model / 2**20,
                "rss_loaded_mb": loaded.rss / 2**20,
                "rss_mb": after.rss / 2**20,
                "anon_mb": (after.rss - after.shared) / 2**20,
                "index_resident_mb": resident / 2**20,
                # As if every page of both files had been touched (a long-running bot's ceiling).
                "worst_case_mb": (after.rss - resident + mapped) / 2**20,
                "rows": rows,
            }
        )
    )


def engine_run(args: argparse.Namespace) -> None:
    """Build both indexes as the product would, then probe them in a fresh process."""
    import faiss

    policy = engine_policy(args)
    n, ns = args.n, int(args.n * SENTENCES_PER_PASSAGE)
    work = args.workdir / f"engine-{args.vectors}-{args.n}"
    work.mkdir(parents=True, exist_ok=True)
    print(f"engine scale: {n:,} passages + {ns:,} sentences, {policy}; load {load_average()}", flush=True)
    t = time.perf_counter()
    pvec = make_vectors(n + args.queries, args.vectors, 0, work / "passages.npy")
    svec = make_vectors(ns, args.vectors, 5, work / "sentences.npy")
    queries = np.ascontiguousarray(pvec[n:])
    np.save(work / "queries.npy", queries)
    np.save(work / "truth-passages.npy", exact_top_k(pvec[:n], queries))
    np.save(work / "truth-sentences.npy", exact_top_k(svec, queries))
    print(f"  vectors and exact truth in {time.perf_counter() - t:.0f} s; load {load_average()}", flush=True)
    info = {}
    for label, vectors in (("passages", pvec[:n]), ("sentences", svec)):
        path = work / f"{label}-{policy.kind_for(len(vectors))}-{policy.hnsw_storage}-m{policy.hnsw_m}.faiss"
        load_at_build = load_average()
        if path.exists() and not args.rebuild:
            print(f"  {label}: reusing {path}", flush=True)
            info[label] = {"path": path, "build_s": None, "load_at_build": None}
            continue
        index, build_s = build_like_product(vectors, policy, label)
        faiss.write_index(index, str(path))
        del index
        info[label] = {"path": path, "build_s": build_s, "load_at_build": load_at_build}
        print(f"  {label}: built in {build_s:.0f} s, {path.stat().st_size / 2**20:,.0f} MiB", flush=True)
    load_at_probe = load_average()
    cmd = [
        sys.executable,
        __file__,
        "--engine-probe",
        "--passage-file",
        str(info["passages"]["path"]),
        "--sentence-file",
        str(info["sentences"]["path"]),
        "--query-file",
        str(work / "queries.npy"),
        "--truth",
        str(work / "truth-passages.npy"),
        "--sentence-truth",
        str(work / "truth-sentences.npy"),
        "--embed-backend",
        args.embed_backend,
        "--ef-search",
        args.ef_search,
    ]
    probe_out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    disk = {k: v["path"].stat().st_size / 2**20 for k, v in info.items()}
    rows = [
        {
            **r,
            "rss_mb": probe_out["rss_mb"],
            "anon_mb": probe_out["anon_mb"],
            "worst_case_mb": probe_out["worst_case_mb"],
            "index_resident_mb": probe_out["index_resident_mb"],
            "rss_loaded_mb": probe_out["rss_loaded_mb"],
            "rss_model_mb": probe_out["rss_model_mb"],
            "load_s": probe_out["load_s"],
            "disk_passages_mb": disk["passages"],
            "disk_sentences_mb": disk["sentences"],
            "load_at_probe": load_at_probe,
        }
        for r in probe_out["rows"]
    ]
    report(
        f"scale-engine-{args.vectors}-{n}-{policy.hnsw_storage}-m{policy.hnsw_m}",
        rows,
        {
            "passages": n,
            "sentences": ns,
            "policy": policy.__dict__,
            "backend": args.embed_backend,
            "build_s": {k: v["build_s"] for k, v in info.items()},
            "load_at_build": {k: v["load_at_build"] for k, v in info.items()},
        },
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="vectors (default 1,000,000)")
    p.add_argument(
        "--vectors",
        choices=["clustered", "random", "minilm"],
        default="clustered",
        help="minilm: real model vectors of synthetic news sentences (~150/s to embed; kept in --workdir)",
    )
    p.add_argument("--types", default="flat,hnsw,ivf", help="comma-separated index types")
    p.add_argument("--queries", type=int, default=200, help="queries timed one by one")
    p.add_argument("--m", type=int, default=32, help="HNSW M")
    p.add_argument("--ef-construction", type=int, default=80)
    p.add_argument("--embed-backend", default="onnx", help="backend for the query-embedding figure (torch|onnx)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/report-bot-scale"))
    p.add_argument("--engine", action="store_true", help="passages + sentences as the engine holds them")
    p.add_argument(
        "--storage",
        choices=["sq8", "fp16", "fp32"],
        help="HNSW storage (default: fp32, as the 1M rows were measured; with --engine the settings', sq8)",
    )
    p.add_argument("--engine-m", type=int, help="--engine: HNSW M (default: settings)")
    p.add_argument("--engine-efc", type=int, help="--engine: HNSW efConstruction (default: settings)")
    p.add_argument("--ef-search", default="32,64,128", help="--engine: efSearch values probed")
    p.add_argument("--rebuild", action="store_true", help="--engine: rebuild index files that exist")
    p.add_argument("--engine-probe", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--passage-file", help=argparse.SUPPRESS)
    p.add_argument("--sentence-file", help=argparse.SUPPRESS)
    p.add_argument("--sentence-truth", help=argparse.SUPPRESS)
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--truth", help=argparse.SUPPRESS)
    p.add_argument("--query-file", help=argparse.SUPPRESS)
    p.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.probe:
        return probe(args)
    if args.engine_probe:
        return engine_probe(args)
    if args.engine:
        return engine_run(args)
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
