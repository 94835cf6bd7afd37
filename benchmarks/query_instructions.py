#!/usr/bin/env python3
"""Instructions per answer of `Engine.answer`, per thread, counted by valgrind's callgrind.

Why: on the shared 2-core machine wall-clock ratios of identical code move by ±0.1× between
runs, while instruction counts do not depend on the load. The question vectors are computed once
beforehand (the encode is the floor, not the engine's work), then the engine answers under
callgrind: the warm-up questions once (so that nothing of the measured questions is kept yet),
then the measured questions 0, 1 and 4 times. The differences give, per answer and per thread
(the caller's thread is the critical path; the lookup thread runs beside the encode):

- first pass: each measured question asked for the first time;
- warm: asked again (what readers keep per version then helps, as in `bench_query.py`'s repeats).

    python benchmarks/query_instructions.py                     # dev questions on the seed corpus
    python benchmarks/query_instructions.py --index DIR --questions Q.jsonl --first-only

Needs valgrind (`apt-get install valgrind`); a run takes 2-4 min on the seed.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import DEV_QUESTIONS, ROOT

MULTI_QUESTIONS = ROOT / "tests" / "data" / "multi_questions.jsonl"


def questions(path: Path) -> list[str]:
    """The `q` of each line of a question file."""
    return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def prepare(index: Path, corpus: Path, asked: list[str], vectors: Path) -> None:
    """Build the index if needed and write the questions' vectors (the default embedder's)."""
    from bot.build.run import build_index
    from bot.embedding.embedder import Embedder
    from bot.engine import Engine
    from bot.settings import Settings

    settings = Settings(_env_file=None, index_dir=index)
    embedder = Embedder.from_settings(settings)
    if not (index / "CURRENT").exists():
        build_index(corpus, index, embedder)
    engine = Engine(settings, embedder=embedder)
    texts = {engine.clean_question(q)[0] for q in asked}
    kept = {t: embedder.encode([t]) for t in texts}
    vectors.write_bytes(pickle.dumps((embedder.model_name, kept)))


def answer(index: Path, vectors: Path, warmup: list[str], measured: list[str], passes: int) -> None:
    """Answer with the precomputed vectors: the warm-up questions, then the measured ones `passes` times."""
    from bot.engine import Engine
    from bot.settings import Settings

    model, kept = pickle.loads(vectors.read_bytes())

    class Precomputed:
        model_name = model

        def encode(self, texts: list[str], **_: object):  # type: ignore[no-untyped-def]
            return kept[texts[0]]

    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=Precomputed())  # type: ignore[arg-type]
    for q in warmup:
        engine.answer(q)
    for _ in range(passes):
        for q in measured:
            engine.answer(q)


def counted(args: argparse.Namespace, vectors: Path, passes: int, out: Path) -> dict[str, int]:
    """Instructions per thread of one run under callgrind."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--index", str(args.index), "--questions", str(args.questions)]
    command += ["--warmup", str(args.warmup), "--answer", str(passes), "--vectors", str(vectors)]
    subprocess.run(
        ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}", *command],
        env=env,
        check=True,
        capture_output=True,
    )
    totals = {}
    for part in out.parent.glob(out.name + "-*"):
        for line in part.read_text(errors="replace").splitlines():
            if line.startswith("summary:"):
                totals[part.name.rsplit("-", 1)[1]] = int(line.split()[1])
    return totals


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=Path, help="index folder (default: the seed corpus, built in a temporary folder)")
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus to build the index from if needed")
    p.add_argument("--questions", type=Path, default=DEV_QUESTIONS, help="the measured questions")
    p.add_argument("--warmup", type=Path, default=MULTI_QUESTIONS, help="questions answered first")
    p.add_argument("--first-only", action="store_true", help="only the first pass")
    p.add_argument("--answer", type=int, help=argparse.SUPPRESS)
    p.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.answer is not None:
        answer(args.index, args.vectors, questions(args.warmup), questions(args.questions), args.answer)
        return
    with tempfile.TemporaryDirectory(prefix="query-instructions-") as work:
        args.index = args.index or Path(work) / "index"
        vectors = Path(work) / "vectors.pkl"
        measured = questions(args.questions)
        prepare(args.index, args.corpus, measured + questions(args.warmup), vectors)
        passes = (0, 1) if args.first_only else (0, 1, 4)
        runs = {n: counted(args, vectors, n, Path(work) / f"run{n}.out") for n in passes}
    for thread in sorted(runs[1]):
        first = (runs[1][thread] - runs[0].get(thread, 0)) / len(measured)
        line = f"thread {thread}: first pass {first / 1e6:.3f} M instructions per answer"
        if 4 in runs:
            warm = (runs[4].get(thread, 0) - runs[1][thread]) / (3 * len(measured))
            line += f", warm {warm / 1e6:.3f} M"
        if abs(first) >= 5e4:  # idle pools' threads count (next to) nothing
            print(line)


if __name__ == "__main__":
    main()
