"""Measure every retrieval variant on every question set; prints the table of docs/quality.md.

    python benchmarks/retrieval_variants.py [--sets dev,multi,squad]

Indexes are built (or reused) under .eval-index/. Figures: hit@1, hit@3, MRR@5 over answerable
questions, negatives not answered, answerable wrongly not answered, mean query time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bot.build.run import build_index
from bot.cli.evaluate import default_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.evaluation.questions import evaluate, load_questions
from bot.retrieval.fusion import Fusion, LexicalSide, Retrieval
from bot.settings import BUNDLED_MODEL, Settings

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "dev": (ROOT / "corpus", ROOT.parent / "shared" / "dev_questions.jsonl"),
    "multi": (ROOT / "tests/data/multi", ROOT / "tests/data/multi_questions.jsonl"),
    "squad": (ROOT / "tests/data/squad/corpus", ROOT / "tests/data/squad/questions.jsonl"),
}
S, P, BOTH = LexicalSide.SENTENCE, LexicalSide.PASSAGE, LexicalSide.BOTH


def rrf(side: LexicalSide, weight: float = 1.0, *, k: int = 60, furniture: float = 0.0) -> Retrieval:
    """Dense and BM25 fused by reciprocal rank."""
    return Retrieval(lexical=side, fusion=Fusion.RRF, lexical_weight=weight, rrf_k=k, furniture_penalty=furniture)


def mix(side: LexicalSide, weight: float, *, furniture: float = 0.0, coverage: bool = False) -> Retrieval:
    """Dense plus `weight` times normalised BM25 (scaled by key-term coverage with `coverage`)."""
    return Retrieval(
        lexical=side, fusion=Fusion.MIX, lexical_weight=weight, scale_by_coverage=coverage, furniture_penalty=furniture
    )


def coverage(weight: float) -> Retrieval:
    """Dense plus `weight` times key-term coverage (furniture penalty at its default)."""
    return Retrieval(lexical=BOTH, fusion=Fusion.COVERAGE, lexical_weight=weight)


VARIANTS = {
    "dense (sentence+passage blend)": Retrieval(lexical=None, furniture_penalty=0.0),
    "BM25 passages (text+title/section)": Retrieval(dense=False, lexical=P, furniture_penalty=0.0),
    "BM25 sentences": Retrieval(dense=False, lexical=S, furniture_penalty=0.0),
    "RRF dense + BM25 passages": rrf(P),
    "RRF dense + BM25 sentences": rrf(S),
    "RRF dense + BM25 both": rrf(BOTH),
    "RRF dense + BM25 sentences, lexical x0.5": rrf(S, 0.5),
    "RRF dense + BM25 both, lexical x0.5": rrf(BOTH, 0.5),
    "RRF k=20 dense + BM25 sentences": rrf(S, k=20),
    "mix dense + 0.1 BM25 sentences": mix(S, 0.1),
    "mix dense + 0.2 BM25 sentences": mix(S, 0.2),
    "mix dense + 0.3 BM25 sentences": mix(S, 0.3),
    "mix dense + 0.2 BM25 passages": mix(P, 0.2),
    "mix dense + 0.2 BM25 sentences, furniture -0.03": mix(S, 0.2, furniture=0.03),
    "mix dense + 0.2 BM25 sentences, furniture -0.06": mix(S, 0.2, furniture=0.06),
    "mix dense + 0.2 BM25 both, furniture -0.06": mix(BOTH, 0.2, furniture=0.06),
    "RRF dense + BM25 sentences, furniture -0.06": rrf(S, furniture=0.06),
    "mix dense + 0.2 BM25 both": mix(BOTH, 0.2),
    "mix dense + 0.3 BM25 both": mix(BOTH, 0.3),
    "mix dense + 0.1 BM25 both, furniture -0.06": mix(BOTH, 0.1, furniture=0.06),
    "mix dense + 0.15 BM25 both, furniture -0.06": mix(BOTH, 0.15, furniture=0.06),
    "mix dense + 0.2 BM25 both x coverage, furniture -0.06": mix(BOTH, 0.2, furniture=0.06, coverage=True),
    "mix dense + 0.3 BM25 both x coverage, furniture -0.06": mix(BOTH, 0.3, furniture=0.06, coverage=True),
    "mix dense + 0.25 BM25 both x coverage, furniture -0.06": mix(BOTH, 0.25, furniture=0.06, coverage=True),
    "mix dense + 0.35 BM25 both x coverage, furniture -0.06": mix(BOTH, 0.35, furniture=0.06, coverage=True),
    "mix dense + 0.4 BM25 both x coverage, furniture -0.06": mix(BOTH, 0.4, furniture=0.06, coverage=True),
    "dense + 0.1 coverage, furniture -0.06": coverage(0.1),
    "dense + 0.2 coverage, furniture -0.06": coverage(0.2),
    "dense + 0.3 coverage, furniture -0.06": coverage(0.3),
    "dense, furniture -0.06": Retrieval(lexical=None),
}


class MemoEmbedder(Embedder):
    """The bundled model, remembering the vector of each single question it encodes.

    Every variant asks the same questions through `Engine.answer`; encoding each once makes the
    full sets (400 SQuAD questions) affordable for every variant. Query times then exclude
    the encoding, so they compare the retrieval and decision work of the variants only.
    """

    def __init__(self) -> None:
        super().__init__(BUNDLED_MODEL)
        self._memo: dict[str, np.ndarray] = {}

    def encode(
        self, texts: list[str], *, show_progress: bool = False, started: Callable[[], object] | None = None
    ) -> np.ndarray:
        """Vectors of `texts`; single texts (questions) are encoded once (`started` is not called)."""
        if len(texts) != 1:
            return super().encode(texts, show_progress=show_progress, started=started)
        if texts[0] not in self._memo:
            self._memo[texts[0]] = super().encode(texts)[0]
        return self._memo[texts[0]][None, :]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--variants", default="", help="substring filter on variant names")
    p.add_argument("--every", type=int, default=1, help="take every Nth question of each set (quicker)")
    args = p.parse_args()
    embedder = MemoEmbedder()
    print("| variant | set | hit@1 | hit@3 | MRR | negatives kept out | false abstentions | ms/query (no encoding) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        corpus, questions_path = SETS[name]
        if not questions_path.exists():
            print(f"(skipped {name}: {questions_path} missing)", file=sys.stderr)
            continue
        index = default_index(corpus)
        build_index(corpus, index, embedder)
        questions = load_questions(questions_path)[:: args.every]
        for label, retrieval in VARIANTS.items():
            if not any(v in label for v in args.variants.split("|")):
                continue
            engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder, retrieval=retrieval)
            f = evaluate(engine, questions, name).figures()
            n = f["answerable"]
            print(
                f"| {label} | {name} | {f['hit@1']}/{n} | {f['hit@3']}/{n} | {f['mrr']:.3f} | "
                f"{f['negatives_not_answered']}/{f['negatives']} | {f['false_abstentions']}/{n} | "
                f"{f['mean_query_ms']:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
