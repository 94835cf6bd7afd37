"""`scripts/build_index.py` / `report-build`: build or refresh the index from the corpus.

Exit codes: 0 the index matches the corpus, 1 nothing could be indexed (or another build held the
lock longer than BUILD_LOCK_WAIT_SECONDS, or bad settings), 2 a usage error, 3 a partial build:
some files were skipped (each is listed with its reason), 130 interrupted and 143 terminated (the
previous index is unchanged), 141 stdout closed early.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    add_path_options,
    command,
    fail,
    interrupted_code,
    interrupted_word,
    say,
    settings_from_args,
)
from bot.errors import ReportBotError

if TYPE_CHECKING:
    from bot.build.run import BuildReport
    from bot.embedding.embedder import Embedder
    from bot.settings import Settings

EXIT_OK = 0
EXIT_NOTHING_INDEXED = 1
EXIT_PARTIAL = 3

EPILOG = """exit codes:
  0    the index matches the corpus (built, updated or already up to date)
  1    nothing could be indexed, another build held the lock for BUILD_LOCK_WAIT_SECONDS, or bad settings
  2    usage error
  3    partial build: some files were skipped (listed on stderr with the reason)
  130  interrupted (Ctrl-C); the previous index is unchanged
  141  stdout closed early (e.g. piped into head); nothing else is affected
  143  terminated (SIGTERM); cleaned up like Ctrl-C, the previous index is unchanged
"""


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The parser of a command that builds the index (build_index.py, add_article.py): exit codes below."""
    return argparse.ArgumentParser(
        prog=prog, description=description, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = build_parser(
        "build_index.py",
        "Build the index from the corpus: only new or changed text is embedded, removed articles are "
        "deleted; an up-to-date index is left as it is. A different model, splitter or schema forces a "
        "full rebuild.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="rebuild every article even if nothing changed")
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="list the articles that would be added, changed, removed or left, and how many passages "
        "would be embedded; changes nothing and loads no model",
    )
    mode.add_argument(
        "--watch", action="store_true", help="build, then rebuild whenever the corpus changes (Ctrl-C stops)"
    )
    p.add_argument(
        "--debounce",
        type=int,
        default=1000,
        metavar="MS",
        help="with --watch: wait for MS milliseconds without changes before rebuilding (default 1000)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_path_options(p)
    return p


def exit_code(report: BuildReport) -> int:
    """0 for a clean build, 3 when files were skipped."""
    return EXIT_PARTIAL if report.skipped else EXIT_OK


def print_report(report: BuildReport, index_dir: Path) -> None:
    """The closing summary: problems on stderr, what was built on stdout."""
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in report.duplicates:
        print(f"duplicate: {line}", file=sys.stderr)
    for line in report.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    if report.up_to_date:
        print(
            f"index up to date: {report.articles} articles, {report.passages} passages "
            f"({index_dir}/, version {report.version}); {report.seconds:.2f} s"
        )
    else:
        print(
            f"indexed {report.articles} articles, {report.passages} passages, {report.sentences} sentences "
            f"in {report.seconds:.1f} s ({report.embedded} texts embedded, {report.reused} reused; {report.reason})"
        )
        print(f"index: {index_dir}/ version {report.version}")
    if report.kept:
        print(
            f"kept {len(report.kept)} indexed article(s) whose files could not be read: "
            + ", ".join(report.kept[:5])
            + (", …" if len(report.kept) > 5 else ""),
            file=sys.stderr,
        )
    if report.skipped:
        print(f"partial build: {len(report.skipped)} file(s) skipped, see above", file=sys.stderr)


def _notify(message: str) -> None:
    """What a build says that the user should see: below the embedding bar, not through it."""
    if message.startswith(("full rebuild:", "building the HNSW", "another build is running")):
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)


def run_build(
    settings: Settings,
    embedder: Embedder,
    *,
    full: bool = False,
    quiet: bool = False,
    pending: str | None = None,
) -> int:
    """One build with a progress bar and summary; the exit code.

    `pending` names what the caller already changed in the corpus (add_article.py's new file):
    if the build is interrupted, the user is told it is not indexed yet and how to finish.
    """
    from tqdm import tqdm

    from bot.build.run import build_index, live_version

    before = live_version(settings.index_dir)

    bar: tqdm[NoReturn] | None = None

    def progress(done: int, total: int) -> None:
        """The bar counts texts really embedded; no work (all cached, only removals) draws none."""
        nonlocal bar
        if quiet or total <= 0:
            return
        if bar is None:
            bar = tqdm(total=total, unit="text", desc="embedding", file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)

    try:
        report = build_index(
            settings.corpus_dir,
            settings.index_dir,
            embedder,
            full=full,
            progress=progress,
            notify=_notify,
            settings=settings,
        )
    except ReportBotError as exc:
        return fail(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated): the clean-up has run
        if bar is not None:
            bar.close()
            bar = None
        say(interrupted_message(exc, settings, before, pending))
        return interrupted_code(exc)
    finally:
        if bar is not None:
            bar.close()
    print_report(report, settings.index_dir)
    if settings.search_backend == "milvus":
        failed = _publish_to_milvus(settings, full)
        if failed is not None:
            return failed
    return exit_code(report)


def _publish_to_milvus(settings: Settings, full: bool) -> int | None:
    """Copy the version just built to Milvus; the exit code when that failed, else None."""
    from bot.build.milvus import publish_to_milvus

    try:
        print(publish_to_milvus(settings, full=full))
    except ReportBotError as exc:
        return fail(exc)
    return None


def interrupted_message(exc: KeyboardInterrupt, settings: Settings, before: str | None, pending: str | None) -> str:
    """What an interrupted build left: the new index live, or the previous one (and how to finish)."""
    from bot.build.run import live_version

    after = live_version(settings.index_dir)
    if after != before and after is not None:
        return f"{interrupted_word(exc)} after the new index went live (version {after})"
    state = "the previous index is unchanged" if before is not None else "no index was written"
    if pending is not None:
        return (
            f"{interrupted_word(exc)}: {pending} is in the corpus but not in the index; {state}\n"
            f"hint: to index it, run: {finish_command(settings)}"
        )
    return f"{interrupted_word(exc)}: {state}"


def finish_command(settings: Settings) -> str:
    """The build command that indexes what an interrupted add left in the corpus."""
    return (
        f"python scripts/build_index.py --corpus {shlex.quote(str(settings.corpus_dir))} "
        f"--index {shlex.quote(str(settings.index_dir))}"
    )


def dry_run(settings: Settings) -> int:
    """Print what a build would change, without the lock, the model or any write."""
    from bot.build.plan import LiveIndex, estimate_embedding, plan_build
    from bot.corpus.files import load_corpus
    from bot.embedding.embedder import Embedder

    model = Embedder.from_settings(settings).model_name  # names the vectors (with "#int8"); loads nothing
    live = LiveIndex.read(settings.index_dir, model)
    known = live.files()
    loaded = load_corpus(settings.corpus_dir, known=known and known[0], stats=known and known[1], bodies=live.bodies())
    for line in loaded.duplicates:
        print(f"duplicate: {line}", file=sys.stderr)
    for line in loaded.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    if not loaded.articles:
        print(f"nothing to index in {settings.corpus_dir}/", file=sys.stderr)
        return EXIT_NOTHING_INDEXED
    plan = plan_build(loaded.articles, live, loaded.keeps)
    if plan.up_to_date:
        print(f"up to date: {len(plan.unchanged)} articles; a build would change nothing")
        return EXIT_PARTIAL if loaded.skipped else EXIT_OK
    if plan.full_reason:
        print(f"would rebuild everything ({plan.full_reason}): {len(plan.to_insert)} articles")
    else:
        print(f"would update the index ({plan.summary()}):")
        for label, ids in (
            ("added", [a.meta.id for a in plan.added]),
            ("changed", [a.meta.id for a in plan.changed]),
            ("removed", plan.removed),
            ("unchanged", [a.meta.id for a in plan.unchanged]),
        ):
            shown = ", ".join(ids[:10]) + (f", … ({len(ids) - 10} more)" if len(ids) > 10 else "")
            print(f"  {label + ':':<11}{len(ids):>6}  {shown}")
    estimate = estimate_embedding(plan, settings.index_dir, model)
    print(
        f"passages to embed: {estimate.passages_to_embed} of {estimate.passages} "
        f"(sentences: {estimate.sentences_to_embed} of {estimate.sentences}); the rest come from the cache"
    )
    return EXIT_PARTIAL if loaded.skipped else EXIT_OK


def _build_once(settings: Settings, embedder: Embedder, quiet: bool) -> int:
    """One build of the watch; a bug or a hostile file must not end the watch: say so, go on."""
    try:
        return run_build(settings, embedder, quiet=quiet)
    except Exception as exc:
        print(f"error: the build failed ({type(exc).__name__}: {str(exc)[:200]})", file=sys.stderr)
        return EXIT_NOTHING_INDEXED


def watch(
    settings: Settings,
    embedder: Embedder,
    *,
    debounce_ms: int = 1000,
    quiet: bool = False,
    stop_event: threading.Event | None = None,
) -> int:
    """Build now, then again after every settled change in the corpus folder, until Ctrl-C."""
    from watchfiles import Change, DefaultFilter
    from watchfiles import watch as watch_changes

    from bot.corpus.articles import SUPPORTED_SUFFIXES

    corpus = settings.corpus_dir
    if not corpus.is_dir():
        print(f"no corpus folder {corpus}/ to watch", file=sys.stderr)
        return EXIT_NOTHING_INDEXED

    class ArticleFilter(DefaultFilter):
        def __call__(self, change: Change, path: str) -> bool:
            name = Path(path).name
            return (
                super().__call__(change, path)
                and not name.startswith(".")
                and (Path(path).suffix.lower() in SUPPORTED_SUFFIXES or Path(path).is_dir())
            )

    code = EXIT_OK
    started = False
    try:
        # The first (empty) batch comes once the watcher runs: build then, so that no change made
        # during the first build is missed. Later empty batches are idle timeouts.
        for changes in watch_changes(
            corpus,
            watch_filter=ArticleFilter(),
            debounce=debounce_ms,
            stop_event=stop_event,
            raise_interrupt=True,
            yield_on_timeout=True,
            rust_timeout=1000,
        ):
            if started and not changes:
                continue
            if changes:
                names = sorted({Path(p).name for _, p in changes})
                more = ", …" if len(names) > 5 else ""
                print(f"corpus changed ({', '.join(names[:5])}{more}): rebuilding", flush=True)
            started = True
            code = _build_once(settings, embedder, quiet)
            if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
                break
            print(f"watching {corpus}/ for changes (Ctrl-C to stop)", flush=True)
    except KeyboardInterrupt:
        pass
    print("stopped watching", flush=True)
    return code if code in (EXIT_INTERRUPTED, EXIT_TERMINATED) else EXIT_OK


@command
def main(argv: list[str] | None = None) -> int:
    """Entry point; see EPILOG for the exit codes."""
    args = parser().parse_args(argv)
    settings = settings_from_args(args)  # an invalid setting: `command` prints its one line
    if args.dry_run:
        return dry_run(settings)
    from bot.embedding.embedder import Embedder

    embedder = Embedder.from_settings(settings)
    if args.watch:
        return watch(settings, embedder, debounce_ms=args.debounce, quiet=args.quiet)
    return run_build(settings, embedder, full=args.full, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
