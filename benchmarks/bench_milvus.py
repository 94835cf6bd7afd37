#!/usr/bin/env python3
"""The Milvus backend against the embedded one: build throughput, query p50/p95, bytes per passage.

A STAND-IN: the server is milvus-lite 3.2.2 on this machine (pure Python, its own process), not a
Milvus standalone or cluster, which no registry here installs (docs/scale.md). Its latencies say
what the backend costs in round trips and client work at this size, not what a real Milvus
serves; its bytes per passage (vectors, texts, tokens, scalars) are what sizing starts from.

Per size (a synthetic corpus of N passages, `benchmarks/synthetic_corpus.py`, built once into a
work folder with the real model):
- build: the embedded build (split, attribute, embed, write), then the copy to Milvus
  (`bot/index/milvus/sync.py`): rows per second of each;
- size: the embedded version folder and milvus-lite's data folder, per passage;
- query: `Engine.answer` over the same questions on both backends, alternated so the shared
  machine's load hits both alike: p50/p95 in ms, and how many answers are identical.

    python benchmarks/bench_milvus.py --passages 10000          # ~20-30 min on a quiet machine, mostly embedding
    python benchmarks/bench_milvus.py --passages 100000         # hours: the embedding
    python benchmarks/bench_milvus.py --passages 100000 --replicate 10 --from /tmp/report-bot-milvus/10000/index
                                      # 100k as 10 copies of the built 10k index (`replicate.py`): no embedding
    python benchmarks/bench_milvus.py --weights INDEX_DIR ...    # only what rows weigh

A replicated index repeats every text K times, so each answer's passages have K - 1 twins that tie
with them: the row says so, and "identical answers" then also counts how the two backends break
those ties (the same passages in another order count as different).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import ROOT, load_average, pct, report
from replicate import replicate_index
from synthetic_corpus import generate

sys.path.insert(0, str(ROOT / "tests"))
from milvus.conftest import MilvusServer  # the test suite's server launcher: own process, free port


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def row_weights(index_dir: Path) -> dict[str, float]:
    """What the Milvus rows of a built index weigh: sentences per passage, bytes and tokens per row.

    The texts and scalars as `bot/index/milvus/source.py` sends them (vectors and indexes apart),
    the figures docs/scale.md sizes Milvus from.
    """
    from bot.index.milvus.source import Version

    version = Version(index_dir / "versions" / (index_dir / "CURRENT").read_text().strip())
    weights = {}
    for kind, rows in (("passage", version.passages()), ("sentence", version.sentences())):
        count = size = terms = 0
        for batch in rows:
            for row in batch:
                count += 1
                terms += len(row["terms"].split())
                size += sum(
                    len(v.encode()) if isinstance(v, str) else 8
                    for k, v in row.items()
                    if k != "vector" and v is not None
                )
        weights[f"{kind}s"] = count
        weights[f"bytes/{kind} row"] = size / max(1, count)
        weights[f"tokens/{kind}"] = terms / max(1, count)
    version.close()
    weights["sentences/passage"] = weights["sentences"] / max(1, weights["passages"])
    return weights


def questions_of(index_dir: Path, n: int, seed: int) -> list[str]:
    """Questions made of passage words (half of them sure to match), deterministic for a seed."""
    import sqlite3

    version = (index_dir / "CURRENT").read_text().strip()
    db = sqlite3.connect(f"file:{index_dir / 'versions' / version / 'store.sqlite'}?mode=ro", uri=True)
    texts = [r[0] for r in db.execute("SELECT text FROM passages ORDER BY id")]
    rng = random.Random(seed)
    out = []
    for text in rng.sample(texts, n):
        words = text.split()
        start = rng.randrange(max(1, len(words) - 8))
        out.append("What about " + " ".join(words[start : start + 6]).strip(".,;:") + "?")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--passages", type=int, default=10_000, help="corpus size in passages (10 per article)")
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/report-bot-milvus"))
    p.add_argument("--weights", type=Path, nargs="+", help="only print the row weights of these built indexes")
    p.add_argument("--replicate", type=int, metavar="K", help="make the index from K copies of --from (no embedding)")
    p.add_argument("--from", dest="source", type=Path, help="with --replicate: the built index to copy")
    args = p.parse_args()
    if args.weights:
        report("milvus-row-weights", [{"index": str(i), **row_weights(i)} for i in args.weights])
        return

    from bot.build.run import build_index
    from bot.embedding.embedder import Embedder
    from bot.engine import Engine
    from bot.index.milvus.sync import sync_settings
    from bot.settings import Settings

    work = args.workdir / str(args.passages)
    corpus, index = work / "corpus", work / "index"
    embedder = Embedder.from_settings(Settings(_env_file=None))
    rows = []
    extra = {"stand_in": "milvus-lite 3.2.2 (pure Python), not a Milvus server"}
    if args.replicate:
        extra["replicated"] = f"{args.replicate} copies of {args.source} under new article ids: texts, vectors repeat"
    if args.replicate and not (index / "CURRENT").exists():
        made = replicate_index(args.source, index, args.replicate, Settings(_env_file=None))
        rows.append({"step": f"replicated index ({args.replicate} copies, IndexWriter, nothing embedded)", **made})
    elif not (index / "CURRENT").exists():
        shutil.rmtree(work, ignore_errors=True)
        generate(corpus, max(1, args.passages // 10), paragraphs=9, seed=7)
        started = time.perf_counter()
        built = build_index(corpus, index, embedder)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "step": "embedded build",
                "passages": built.passages,
                "seconds": seconds,
                "passages/s": built.passages / seconds,
                "load": load_average(),
            }
        )
    version = (index / "CURRENT").read_text().strip()
    embedded_bytes = folder_bytes(index / "versions" / version)
    if not rows:  # built by an earlier run: its build time is in the manifest (its load is not)
        manifest = json.loads((index / "versions" / version / "manifest.json").read_text())
        seconds, passages = manifest["build_seconds"], manifest["counts"]["passages"]
        made = "replicated (rows, vectors copied; the commit's HNSW build not counted)" if args.replicate else "built"
        rows.append(
            {
                "step": f"index {made} earlier ({manifest['built_at']}; manifest)",
                "passages": passages,
                "seconds": seconds,
                "passages/s": passages / seconds,
            }
        )

    server = MilvusServer(work / f"milvus-{time.time_ns()}")
    server.start()
    try:
        milvus = Settings(
            _env_file=None,
            index_dir=index,
            search_backend="milvus",
            milvus_uri=server.uri,
            milvus_collection_prefix="bench",
            milvus_timeout_seconds=600,
        )
        copied = sync_settings(milvus, index, full=True)
        passages = copied.rows["passages"]
        rows.append(
            {
                "step": "copy to Milvus",
                "passages": passages,
                "seconds": copied.seconds,
                "passages/s": passages / copied.seconds,
                "sentences/s": copied.rows["sentences"] / copied.seconds,
                "load": load_average(),
            }
        )
        server.stop()  # flushed to disk: its size is what it keeps
        milvus_bytes = folder_bytes(server.data_dir)
        server.start()
        rows.append(
            {
                "step": "size",
                "passages": passages,
                "embedded bytes/passage": embedded_bytes / passages,
                "milvus-lite bytes/passage": milvus_bytes / passages,
            }
        )

        engines = {
            "embedded": Engine(Settings(_env_file=None, index_dir=index), embedder=embedder),
            "milvus": Engine(milvus, embedder=embedder),
        }
        asked = questions_of(index, args.queries, seed=11)
        times: dict[str, list[float]] = {name: [] for name in engines}
        answers: dict[str, list[object]] = {name: [] for name in engines}
        for engine in engines.values():  # warm: models, memoised views, the server's caches
            engine.answer(asked[0])
        for question in asked:
            for name, engine in engines.items():
                started = time.perf_counter()
                answer = engine.answer(question)
                times[name].append((time.perf_counter() - started) * 1000)
                answers[name].append((answer.answered, [(q.passage_id, q.quote) for q in answer.quotes]))
        same = sum(a == b for a, b in zip(answers["embedded"], answers["milvus"], strict=True))
        for name in engines:
            rows.append(
                {
                    "step": f"query {name}",
                    "passages": passages,
                    "p50 ms": pct(times[name], 50),
                    "p95 ms": pct(times[name], 95),
                    "identical answers": f"{same}/{len(asked)}",
                    "load": load_average(),
                }
            )
    finally:
        server.stop()
    name = f"milvus-{args.passages}" + (f"-replicated-{args.replicate}x" if args.replicate else "")
    report(name, rows, extra)


if __name__ == "__main__":
    main()
