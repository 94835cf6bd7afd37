"""`scripts/evaluate.py` / `report-evaluate`: measure answer quality on a question set.

Builds the index of the corpus (or reuses it when it is up to date), asks every question through
`Engine.answer` and prints hit@1, hit@3, MRR, abstentions, speaker accuracy, right-article-first
and the mean query time; `--json` prints the figures and per-question results as one object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import command, fail, settings_from_args
from bot.errors import ReportBotError
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.embedding.embedder import Embedder
    from bot.engine import Engine

#: A question file and its questions.
QuestionSet = tuple[Path, list[dict[str, Any]]]

#: Where `--corpus DIR` without `--index` keeps its index: one folder per corpus, reused.
EVAL_INDEX_ROOT = Path(".eval-index")


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Measure answer quality on a question set (JSON lines: q, expect, speaker, article, negative).",
    )
    p.add_argument("questions", type=Path, nargs="*", help="question files (JSONL), each reported on its own")
    p.add_argument(
        "--polnear",
        metavar="SPLIT",
        help="measure attribution instead, on PolNeAR's SPLIT (train or dev) in POLNEAR_DIR (../shared/polnear)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="with --polnear: only the first N articles")
    p.add_argument(
        "--parse-cache",
        type=Path,
        metavar="FILE",
        help="with --polnear: keep parses in FILE (e.g. .cache/train.spacy) to skip the parser on reruns",
    )
    p.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        help="corpus the questions are about (default: CORPUS_DIR); indexed first if needed",
    )
    p.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        help="index folder to build or reuse (default: INDEX_DIR, or .eval-index/<name> with --corpus)",
    )
    p.add_argument(
        "--articles-from",
        type=Path,
        metavar="DIR",
        help="index, for each set, only the articles it names (`article`: file stems in DIR), linked into "
        "a per-set corpus under .eval-index/corpora/",
    )
    p.add_argument("--json", action="store_true", help="print figures and per-question results as JSON")
    p.add_argument(
        "--mode",
        choices=["hybrid", "dense", "lexical"],
        help="retrieval to measure (default: RETRIEVAL_MODE setting)",
    )
    return p


def default_index(corpus: Path) -> Path:
    """A per-corpus index folder, so evaluating another corpus never replaces the bot's index."""
    resolved = corpus.resolve()
    digest = hashlib.sha1(str(resolved).encode("utf-8")).hexdigest()[:8]
    return EVAL_INDEX_ROOT / f"{resolved.name}-{digest}"


def set_corpus(questions: list[dict[str, Any]], source: Path, name: str) -> Path:
    """A corpus folder of copies of the articles a question set names, built under the eval cache.

    The folder is named after the set and a digest of its articles, so a set is always evaluated
    over exactly its own articles (20-40 of PolNeAR's, not all 840) and the index is reused.
    Raises `BadQuestionSet` when a question names no article or one that `source` lacks.
    """
    from bot.corpus.articles import SUPPORTED_SUFFIXES
    from bot.evaluation.questions import BadQuestionSet

    stems = sorted({str(q["article"]) for q in questions if q.get("article")})
    if not stems:
        raise BadQuestionSet(f"{name}: no question names its article (`article`), needed by --articles-from")
    files = {}
    for stem in stems:
        found = [source / f"{stem}{suffix}" for suffix in SUPPORTED_SUFFIXES if (source / f"{stem}{suffix}").is_file()]
        if not found:
            raise BadQuestionSet(f"{name}: article {stem!r} is not in {source}")
        files[stem] = found[0].resolve()
    digest = hashlib.sha1("\n".join(str(f) for f in files.values()).encode("utf-8")).hexdigest()[:8]
    folder = EVAL_INDEX_ROOT / "corpora" / f"{Path(name).stem}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    for path in files.values():
        # Copies, not links: the loader never reads a symlinked or hard-linked file (issue 16).
        copy = folder / path.name
        data = path.read_bytes()
        if copy.is_symlink() or not copy.is_file() or copy.read_bytes() != data:
            copy.unlink(missing_ok=True)
            copy.write_bytes(data)
    return folder


def open_engine(settings: Settings, embedder: Embedder) -> Engine:
    """An engine over `settings.index_dir`, built from `settings.corpus_dir` first unless up to date."""
    from bot.build.run import build_index
    from bot.engine import Engine

    build = build_index(settings.corpus_dir, settings.index_dir, embedder)
    if not build.up_to_date:
        print(f"indexed {build.articles} articles into {settings.index_dir}/", file=sys.stderr)
    return Engine(settings, embedder=embedder)


def set_engines(
    sets: Iterable[QuestionSet], articles: Path, settings: Settings, embedder: Embedder
) -> Iterator[tuple[Path, list[dict[str, Any]], Engine]]:
    """Each question set with an engine over only the articles it names (`set_corpus`), indexed first.

    What `--articles-from` measures and what `scripts/fit_*.py` learn from: a set's questions are
    asked over its own 20-40 articles, never over the whole folder the articles come from.
    """
    for path, questions in sets:
        corpus = set_corpus(questions, articles, path.name)
        update = {"corpus_dir": corpus, "index_dir": default_index(corpus)}
        yield path, questions, open_engine(settings.model_copy(update=update), embedder)


@command
def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 when every set was evaluated, 1 on a bad question file or corpus."""
    p = parser()
    args = p.parse_args(argv)
    if args.polnear:
        return polnear_main(args)
    if not args.questions:
        p.error("give question files, or --polnear SPLIT")
    if args.corpus is not None and args.index is None:
        args.index = default_index(args.corpus)
    settings = settings_from_args(args)
    if args.mode:
        settings = settings.model_copy(update={"retrieval_mode": args.mode})
    from bot.evaluation.questions import evaluate, load_questions

    try:
        sets = [(path, load_questions(path)) for path in args.questions]
        from bot.embedding.embedder import Embedder

        embedder = Embedder.from_settings(settings)
        if args.articles_from is not None:
            engines = set_engines(sets, args.articles_from, settings, embedder)
        else:
            engine = open_engine(settings, embedder)
            engines = ((path, questions, engine) for path, questions in sets)
        reports = [evaluate(engine, questions, name=path.name) for path, questions, engine in engines]
    except ReportBotError as exc:
        return fail(exc)
    if args.json:
        out = [r.to_dict() for r in reports]
        print(json.dumps(out[0] if len(out) == 1 else out, ensure_ascii=False))
    else:
        print("\n\n".join(r.format_text() for r in reports))
    return 0


def polnear_main(args: argparse.Namespace) -> int:
    """`--polnear SPLIT`: the four attribution measures of PolNeAR's README on one split."""
    from bot.evaluation.polnear import evaluate_split

    settings = settings_from_args(args)
    split_dir = settings.polnear_dir / args.polnear
    if not (split_dir / "gold.jsonl").is_file():
        print(f"error: no PolNeAR split at {split_dir} (gold.jsonl missing); set POLNEAR_DIR", file=sys.stderr)
        return 1
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 1
    try:
        report = evaluate_split(split_dir, args.limit, progress=not args.json, parse_cache=args.parse_cache)
    except ReportBotError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.format_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
