"""`scripts/build_index.py` / `report-build`: build or refresh the index from the corpus."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import add_path_options, fail, settings_from_args
from bot.errors import ReportBotError


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(
        prog="build_index.py",
        description="Build the index from the corpus: only new or changed text is embedded; "
        "an up-to-date index is left as it is.",
    )
    p.add_argument("--full", action="store_true", help="rebuild every article even if nothing changed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_path_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point: 0 when an index was built (or already current), 1 when nothing could be indexed."""
    args = parser().parse_args(argv)
    settings = settings_from_args(args)
    from tqdm import tqdm

    from bot.build import build_index
    from bot.embedder import Embedder
    from bot.vector_index import IndexPolicy

    embedder = Embedder(
        settings.embedding_model,
        settings.embedding_batch_size,
        backend=settings.embedding_backend,
    )
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = tqdm(total=total, unit="text", desc="embedding", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)

    try:
        report = build_index(
            settings.corpus_dir,
            settings.index_dir,
            embedder,
            full=args.full,
            progress=progress,
            index_policy=IndexPolicy.from_settings(settings),
        )
    except ReportBotError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        print("interrupted: the previous index is unchanged", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    if report.up_to_date:
        print(
            f"index up to date: {report.articles} articles, {report.passages} passages "
            f"({settings.index_dir}/, version {report.version}); {report.seconds:.2f} s"
        )
    else:
        print(
            f"indexed {report.articles} articles, {report.passages} passages, {report.sentences} sentences "
            f"in {report.seconds:.1f} s ({report.embedded} texts embedded, {report.reused} reused; {report.reason})"
        )
        print(f"index: {settings.index_dir}/ version {report.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
