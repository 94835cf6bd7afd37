"""Is int8 as good as fp32? hit@1 and hit@3 of both precisions over every question set we have.

Issue 17's rule: int8 becomes the default if, over all answerable questions together, hit@1 drops
by at most 1 point and hit@3 by at most 0.5 point against fp32. One question of 22 is noise; this
asks every set at once: the shared dev questions (seed corpus), tests/data/multi, the SQuAD
excerpt and the answerability sets over PolNeAR articles (each over the articles it names).

Each set's corpus is indexed once per precision (the onnx backend, the same code path the product
runs), then every question goes through `Engine.answer` and `bot.evaluation.questions.judge`, so the figures
are those of `scripts/evaluate.py`. Attribution does not embed, so PolNeAR attribution is
unchanged by construction (the build's speakers come from the parse, not from vectors).

    python benchmarks/compare_precision.py [--sets NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import load_average, report  # noqa: E402
from bot.build.run import build_index  # noqa: E402
from bot.cli.evaluate import set_corpus  # noqa: E402
from bot.embedding.embedder import Embedder  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.evaluation.questions import evaluate, load_questions  # noqa: E402
from bot.settings import BUNDLED_MODEL, Settings  # noqa: E402

SHARED = ROOT.parent / "shared"
DATA = ROOT / "tests" / "data"
ANSWERABILITY = DATA / "answerability"


def question_sets() -> dict[str, tuple[list[Path], Path | None, Path]]:
    """name -> (question files, folder the `article` ids live in (None: the corpus as is), corpus)."""
    sets: dict[str, tuple[list[Path], Path | None, Path]] = {
        "dev": ([SHARED / "dev_questions.jsonl"], None, ROOT / "corpus"),
        "multi": ([DATA / "multi_questions.jsonl"], None, DATA / "multi"),
        "squad": ([DATA / "squad" / "questions.jsonl"], None, DATA / "squad" / "corpus"),
    }
    train = sorted(ANSWERABILITY.glob("train*.jsonl"))
    if train:
        sets["polnear-train"] = (train, SHARED / "polnear" / "train" / "corpus", Path())
    if (ANSWERABILITY / "dev.jsonl").is_file():
        sets["polnear-dev"] = ([ANSWERABILITY / "dev.jsonl"], SHARED / "polnear" / "dev" / "corpus", Path())
    return sets


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="*", help="only these sets (default: all found)")
    args = p.parse_args()
    sets = question_sets()
    if args.sets:
        sets = {k: v for k, v in sets.items() if k in args.sets}
    load_before = load_average()
    rows: dict[str, dict[str, dict[str, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        embedders = {
            precision: Embedder(BUNDLED_MODEL, backend="onnx", precision=precision)  # type: ignore[arg-type]
            for precision in ("fp32", "int8")
        }
        for name, (files, articles_from, corpus) in sets.items():
            questions = [q for f in files for q in load_questions(f)]
            if articles_from is not None:  # as `evaluate.py --articles-from` does: copies of its articles
                corpus = set_corpus(questions, articles_from, name)
            for precision, embedder in embedders.items():
                index = work / name / f"index-{precision}"
                started = time.perf_counter()
                build_index(corpus, index, embedder)
                built = time.perf_counter() - started
                engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
                f = evaluate(engine, questions, name).figures()
                rows.setdefault(name, {})[precision] = {
                    "answerable": f["answerable"],
                    "hit@1": f["hit@1"],
                    "hit@3": f["hit@3"],
                    "build_s": round(built, 1),
                }
                print(
                    f"{name:14s} {precision}: hit@1 {f['hit@1']}/{f['answerable']},"
                    f" hit@3 {f['hit@3']}/{f['answerable']} (index built in {built:.1f} s)",
                    file=sys.stderr,
                )
    total = {
        precision: {key: sum(r[precision][key] for r in rows.values()) for key in ("answerable", "hit@1", "hit@3")}
        for precision in ("fp32", "int8")
    }
    n = total["fp32"]["answerable"]
    drop1 = 100 * (total["fp32"]["hit@1"] - total["int8"]["hit@1"]) / n
    drop3 = 100 * (total["fp32"]["hit@3"] - total["int8"]["hit@3"]) / n
    verdict = "int8 qualifies as the default" if drop1 <= 1 and drop3 <= 0.5 else "int8 does NOT qualify"
    table = [
        {
            "set": name,
            "answerable": r["fp32"]["answerable"],
            "fp32 hit@1": r["fp32"]["hit@1"],
            "int8 hit@1": r["int8"]["hit@1"],
            "fp32 hit@3": r["fp32"]["hit@3"],
            "int8 hit@3": r["int8"]["hit@3"],
        }
        for name, r in {**rows, "all": total}.items()
    ]
    extra = {"drop_hit@1_points": round(drop1, 2), "drop_hit@3_points": round(drop3, 2), "verdict": verdict}
    report("compare-precision", table, {**extra, "load_before": load_before, "sets": rows})
    print(f"hit@1 drop {drop1:.2f} points (rule: <= 1), hit@3 drop {drop3:.2f} points (rule: <= 0.5): {verdict}")


if __name__ == "__main__":
    main()
