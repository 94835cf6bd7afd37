#!/usr/bin/env python3
"""Query latency over the dev questions through `Engine.answer`, against the floor.

Floor: embedding the bare question with the same model and backend plus one raw FAISS search of
the same passage index (what no engine can avoid). The engine also searches the sentence index,
reads candidates from SQLite, rescores their sentences and builds the quotes; its p50 over the
floor's p50 is the figure to watch (target ≤ 1.3×). Every pass asks the same questions, so what
the engine keeps per question helps passes 2..N: `first_ask_*` is the first pass alone (the
warm-up question left out), each question asked for the first time. Each question is timed
engine, floor, engine, floor... so that the shared machine's load hits both alike. `engine_cpu_beyond_encode_ms`
is the process CPU of an answer with the question vectors precomputed: the engine's own work,
steadier than the ratio when other jobs share the machine.

Also prints the dev-set figures (hit@1, hit@3, negatives withheld) per backend: a faster backend
is only worth having if these stay the same.

    python benchmarks/bench_query.py                      # torch and onnx
    python benchmarks/bench_query.py --backends onnx --repeat 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import DEV_QUESTIONS, ROOT, load_average, pct, report


def dev_figures(engine, items: list[dict]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """hit@1 and hit@3 of the answerable questions, and how many negatives were withheld."""
    hit1 = hit3 = withheld = 0
    for item in items:
        answer = engine.answer(item["q"])
        if item.get("negative"):
            withheld += not answer.answered
            continue
        ranks = [i for i, q in enumerate(answer.quotes) if any(e in q.text for e in item["expect"])]
        hit1 += bool(ranks) and ranks[0] == 0
        hit3 += bool(ranks) and ranks[0] < 3
    return {"hit@1": hit1, "hit@3": hit3, "negatives_withheld": withheld}


def engine_cpu(engine, questions: list[str], repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Mean process CPU seconds of `answer()` beyond the encode: the question vectors precomputed.

    A steadier figure than wall-clock ratios on a shared machine: what the engine itself costs
    (lookup, ranking, quotes, decision), whatever the load does to the encode.
    """
    embedder = engine.embedder
    vectors = {}
    for q in questions:
        text = engine.clean_question(q)[0]
        vectors[text] = embedder.encode([text])

    class Precomputed:
        model_name = embedder.model_name

        def encode(self, texts: list[str], **_: object):  # type: ignore[no-untyped-def]
            return vectors[texts[0]]

    engine.embedder = Precomputed()
    try:
        spent = []
        for _ in range(repeat):
            for q in questions:
                t = time.process_time()
                engine.answer(q)
                spent.append(time.process_time() - t)
    finally:
        engine.embedder = embedder
    return sum(spent) / len(spent)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="torch,onnx", help="comma-separated EMBEDDING_BACKEND values")
    p.add_argument("--repeat", type=int, default=5, help="timed passes over the questions")
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument(
        "--precision",
        choices=("default", "int8", "fp32"),
        default="default",
        help="onnx model precision (default: the EMBEDDING_PRECISION default for the backend, int8 on onnx)",
    )
    args = p.parse_args()

    from bot.build.run import build_index
    from bot.embedding.embedder import Embedder
    from bot.engine import Engine
    from bot.settings import BUNDLED_MODEL, Settings

    items = [json.loads(line) for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [i["q"] for i in items]
    work = Path(tempfile.mkdtemp(prefix="bench-query-"))
    rows = []
    try:
        for backend in args.backends.split(","):
            index = work / backend
            chosen = {} if args.precision == "default" else {"embedding_precision": args.precision}
            settings = Settings(_env_file=None, index_dir=index, embedding_backend=backend, **chosen)
            precision = settings.embedding_precision
            embedder = Embedder(BUNDLED_MODEL, backend=backend, cache_dir=work / "model-cache", precision=precision)  # type: ignore[arg-type]
            build_index(args.corpus, index, embedder)
            engine = Engine(settings, embedder=embedder)
            reader = engine.reader
            k = engine.settings.top_k
            engine.answer(questions[0])  # warm: model, SQLite pages, FAISS pages
            load = load_average()
            full, floor = [], []
            for _ in range(args.repeat):
                for q in questions:
                    t = time.perf_counter()
                    engine.answer(q)
                    full.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    qv = embedder.encode([q])[0]
                    reader.passage_index.search(qv.reshape(1, -1), k)
                    floor.append(time.perf_counter() - t)
            # The first pass asks each question once: what the engine keeps per question (the
            # answer-slot check's score) cannot help it, so it is what a new question costs.
            first, first_floor = full[1 : len(questions)], floor[1 : len(questions)]
            figures = dev_figures(engine, items)
            cpu = engine_cpu(engine, questions, args.repeat)
            rows.append(
                {
                    "backend": backend,
                    "precision": precision,
                    "p50_ms": pct(full, 50) * 1e3,
                    "p95_ms": pct(full, 95) * 1e3,
                    "floor_p50_ms": pct(floor, 50) * 1e3,
                    "floor_p95_ms": pct(floor, 95) * 1e3,
                    "x_floor_p50": pct(full, 50) / pct(floor, 50),
                    "first_ask_p50_ms": pct(first, 50) * 1e3,
                    "first_ask_x_floor_p50": pct(first, 50) / pct(first_floor, 50),
                    "engine_cpu_beyond_encode_ms": cpu * 1e3,
                    "target": "<=1.3",
                    **figures,
                    "queries": len(full),
                    "load": load,
                }
            )
            print(f"{backend} {precision}: done ({load})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("query", rows)


if __name__ == "__main__":
    main()
