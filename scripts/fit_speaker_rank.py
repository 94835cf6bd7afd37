#!/usr/bin/env python
"""Fit the "What did X say?" passage ranking (`bot/data/speaker_rank_model.json`) on the training questions.

    python scripts/fit_speaker_rank.py [--write] [QUESTIONS.jsonl ...]

Each training set (default: tests/data/answerability/train_*.jsonl) is indexed over only the
articles it names, as `scripts/fit_decision.py` does. Every answerable question that names a
speaker (as `bot.retrieval.question.analyse` reads it, whatever its label) is run through the engine's own
retrieval (`Engine.candidates`: the `SPEAKER_CANDIDATES` best passages), and each candidate gets the
features of `bot/retrieval/speaker_rank.py`, labelled by whether it holds an expected answer. Then:

- cross-validation by article (5 folds, no article in two folds): a logistic regression fitted on
  the other folds' candidates reorders the held-out fold's; hit@1 and hit@3 against the rule it
  replaces (every passage quoting X first, retrieval's order within: `bot.retrieval.speaker_rank.prefer_speaker`)
  and against retrieval's order alone;
- the shipped model: fitted on all the training questions' candidates.

Never run this on the reporting (dev) set.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cli.evaluate import set_engines  # noqa: E402
from bot.evaluation.questions import _norm, load_questions  # noqa: E402
from bot.retrieval.linear import LinearModel  # noqa: E402
from bot.retrieval.question import analyse  # noqa: E402
from bot.retrieval.speaker_rank import FEATURES, MODEL_FILE, candidate_features, prefer_speaker  # noqa: E402

TRAIN = sorted((ROOT / "tests" / "data" / "answerability").glob("train_*.jsonl"))
POLNEAR_TRAIN = ROOT.parent / "shared" / "polnear" / "train" / "corpus"
VERSION = "speaker-rank-lr-1"


def collect(paths: list[Path], articles: Path) -> list[dict]:
    """Per answerable question naming a speaker: its candidates' features, gold flags, rule order."""
    from bot.embedding.embedder import Embedder
    from bot.settings import load_settings

    settings = load_settings()
    sets = ((path, load_questions(path)) for path in paths)
    out = []
    for path, questions, engine in set_engines(sets, articles, settings, Embedder.from_settings(settings)):
        reader = engine.reader
        k = engine.settings.top_k
        for q in questions:
            if q.get("negative") or not q.get("expect"):
                continue
            text, _ = engine.clean_question(q["q"])
            shape = analyse(text)
            if not shape.asked_speaker:
                continue
            ranked, terms = engine.candidates(reader, text, k, shape)
            if not ranked:
                continue
            texts = {pid: p.text for pid, p in reader.passages([s.passage_id for s in ranked]).items()}
            expect = [_norm(e) for e in q["expect"]]
            gold = [any(e in _norm(texts[s.passage_id]) for e in expect) for s in ranked]
            rule = [s.passage_id for s in prefer_speaker(reader, ranked, shape.asked_speaker, len(ranked))]
            pos = {s.passage_id: i for i, s in enumerate(ranked)}
            out.append(
                {
                    "id": q["id"],
                    "article": q["article"],
                    "kind": q.get("kind"),
                    "features": candidate_features(reader, ranked, shape.asked_speaker, terms),
                    "gold": gold,
                    "rule_order": [pos[p] for p in rule],
                }
            )
        print(f"{path.name}: {sum(r['id'] in {q['id'] for q in questions} for r in out)} questions", file=sys.stderr)
    return out


def fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(x, y)


def rank_of_gold(order: list[int], gold: list[bool]) -> int | None:
    """1-based rank of the first gold candidate in `order` (None when no candidate holds the answer)."""
    return next((r for r, i in enumerate(order, 1) if gold[i]), None)


def hits(ranks: list[int | None]) -> dict[str, int]:
    return {
        "hit@1": sum(r == 1 for r in ranks),
        "hit@3": sum(r is not None and r <= 3 for r in ranks),
        "hit@5": sum(r is not None and r <= 5 for r in ranks),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("questions", type=Path, nargs="*", default=TRAIN, help="training question sets (never dev)")
    ap.add_argument("--articles-from", type=Path, default=POLNEAR_TRAIN, metavar="DIR")
    ap.add_argument("--C", type=float, default=0.3, help="inverse regularisation of the logistic regression")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--write", action="store_true", help=f"write {MODEL_FILE.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    if any("dev" in p.name for p in args.questions):
        ap.error("the dev set is for reporting only: fit on the training sets")
    rows = collect(args.questions, args.articles_from)

    from sklearn.model_selection import GroupKFold

    def stack(idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
        x = [[f[n] for n in FEATURES] for i in idx for f in rows[i]["features"]]
        y = [int(g) for i in idx for g in rows[i]["gold"]]
        return np.array(x, dtype=np.float64), np.array(y)

    groups = np.array([r["article"] for r in rows])
    learned: list[int | None] = [None] * len(rows)
    for tr, te in GroupKFold(n_splits=args.folds).split(rows, groups=groups):
        model = fit(*stack(list(tr)), args.C)
        for i in te:
            x = np.array([[f[n] for n in FEATURES] for f in rows[i]["features"]])
            z = model.decision_function(x)
            order = sorted(range(len(z)), key=lambda j: (-z[j], j))
            learned[i] = rank_of_gold(order, rows[i]["gold"])
    retrieval = [rank_of_gold(list(range(len(r["gold"]))), r["gold"]) for r in rows]
    rule = [rank_of_gold(r["rule_order"], r["gold"]) for r in rows]
    report = {
        "version": VERSION,
        "fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
        "trained_on": [p.name for p in args.questions],
        "questions": len(rows),
        "candidates": sum(len(r["gold"]) for r in rows),
        "gold_among_candidates": sum(any(r["gold"]) for r in rows),
        "C": args.C,
        "cv_folds": args.folds,
        "cv": {"retrieval order": hits(retrieval), "speaker-first rule": hits(rule), "learned": hits(learned)},
    }
    print(json.dumps(report, indent=1))
    final = fit(*stack(list(range(len(rows)))), args.C)
    linear = LinearModel.from_sklearn(VERSION, FEATURES, final)
    print("weights:", linear.weights())
    if args.write:
        model = {**linear.to_json(), "fit": report}
        MODEL_FILE.write_text(json.dumps(model, indent=1) + "\n", "utf-8")
        print(f"wrote {MODEL_FILE.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
