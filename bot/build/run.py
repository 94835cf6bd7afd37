"""Building the index: corpus → passages → vectors (cached) → a new index version, swapped in.

The manifest records a content hash per article. A build compares it with the corpus: an up-to-date
index returns at once without loading the model; otherwise a new version starts from a copy of the
live one, loses the rows of removed and changed articles and gains those of added and changed ones
(vectors come from the cache where the text is unchanged). A different model, splitter or schema
means a full build into an empty version. Either way the new version is swapped in atomically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.build.cache import CACHE_DROPPED, cache_oversized, prune_embedding_cache
from bot.build.lock import BuildLock
from bot.build.plan import BuildPlan, LiveIndex, plan_build
from bot.build.write import Written, write_version
from bot.corpus.files import corpus_files, load_corpus
from bot.embedding.embedder import Embedder
from bot.errors import ReportBotError, SQLiteError, disk_full, storage_error
from bot.index.manifest import Manifest, current_version, prune_versions
from bot.index.vectors import IndexPolicy
from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    """What a build did; printed as the closing summary."""

    articles: int = 0
    passages: int = 0
    sentences: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    #: Reading the corpus (only files whose stat changed) and comparing it with the live index.
    plan_seconds: float = 0.0
    #: Writing the new version's files and swapping it in (`IndexWriter.commit`).
    commit_seconds: float = 0.0
    version: str | None = None
    up_to_date: bool = False
    full: bool = False
    reason: str = ""
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: list[str] = field(default_factory=list)
    #: Indexed articles kept although their file or folder could not be read this time.
    kept: list[str] = field(default_factory=list)


def _nothing_to_index(corpus_dir: Path, skipped: list[str]) -> None:
    where = f"{corpus_dir}/" if corpus_dir.is_dir() else f"{corpus_dir}/ (no such folder)"
    reasons = "".join(f"\n  skipped: {line}" for line in skipped)
    raise ReportBotError(
        f"nothing to index in {where}{reasons}", hint="add .txt, .md or .html articles to the corpus folder"
    )


def live_version(index_dir: Path) -> str | None:
    """Name of the live index version, or None when there is none (no folder, no finished build)."""
    return current_version(index_dir) if index_dir.is_dir() else None


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
    index_policy: IndexPolicy | None = None,
    lexical_threshold: int | None = None,
    lock_wait: float | None = None,
    settings: Settings | None = None,
) -> BuildReport:
    """Build (or refresh) the index of `corpus_dir` in `index_dir`.

    Incremental unless `full` or the index was built differently (model, splitter, schema): only
    added and changed articles are split and embedded, removed ones are deleted, and untouched rows
    keep their ids. `progress(done, total)` counts the texts really embedded (not those found in
    the cache; never called when there are none); `lock_wait` is how long to wait for another
    build holding the lock (default: BUILD_LOCK_WAIT_SECONDS) before raising `BuildLocked`;
    `notify(message)` says what kind of build starts and why (and that it waits for another
    build); `index_policy` picks the FAISS index type (default: the FAISS_* settings) and
    `lexical_threshold` from how many rows BM25 postings are written as arrays (default:
    LEXICAL_POSTINGS_THRESHOLD). Raises `ReportBotError` when nothing could be indexed; a
    partly bad corpus builds from what loads and lists the rest in `skipped`. `settings` gives
    those defaults (default: the process's settings).
    """
    if index_policy is None or lexical_threshold is None or lock_wait is None:
        settings = settings or get_settings()
        index_policy = index_policy or IndexPolicy.from_settings(settings)
        lexical_threshold = settings.lexical_postings_threshold if lexical_threshold is None else lexical_threshold
        lock_wait = settings.build_lock_wait_seconds if lock_wait is None else lock_wait
    before = current_version(index_dir) if index_dir.is_dir() else None
    try:
        return _build_index(
            corpus_dir, index_dir, embedder, full, progress, notify, index_policy, lexical_threshold, lock_wait
        )
    except (OSError, SQLiteError, RuntimeError) as exc:
        error = _storage_failure(exc, corpus_dir, index_dir, before)
        if error is None:
            raise
        raise error from exc


def _storage_failure(
    exc: BaseException, corpus_dir: Path, index_dir: Path, before: str | None
) -> ReportBotError | None:
    """A failed read or write of the index or corpus folder as one line saying what is left."""
    filename = str(getattr(exc, "filename", "") or "")
    in_corpus = bool(filename) and Path(filename).resolve().is_relative_to(corpus_dir.resolve())
    try:
        after = current_version(index_dir)
    except OSError:
        after = before
    if after != before and after is not None:
        outcome = f"the new index (version {after}) is live"
    elif before is not None:
        outcome = "the previous index is unchanged and still answers"
    else:
        outcome = "no index was written"
    if CACHE_DROPPED in getattr(exc, "__notes__", ()):
        outcome += f"; {CACHE_DROPPED}"
    if in_corpus:
        return storage_error(exc, corpus_dir, outcome=outcome, flag="--corpus")
    return storage_error(exc, index_dir, outcome=outcome)


def _build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    full: bool,
    progress: Callable[[int, int], None] | None,
    notify: Callable[[str], None] | None,
    index_policy: IndexPolicy,
    lexical_threshold: int,
    lock_wait: float,
) -> BuildReport:
    started = time.perf_counter()
    unreadable: list[tuple[Path, str]] = []
    if not any(corpus_files(corpus_dir, unreadable)):
        _nothing_to_index(corpus_dir, [f"{folder}/: cannot read folder ({why})" for folder, why in unreadable])
    with BuildLock(index_dir, wait=lock_wait, notify=notify):
        prune_versions(index_dir)  # leftovers of a killed build
        # Under the lock, so the live version cannot change between this look and the plan.
        plan, report = _plan(corpus_dir, index_dir, embedder.model_name, full)
        report.plan_seconds = time.perf_counter() - started
        if plan.up_to_date and plan.base_manifest is not None:
            if cache_oversized(index_dir, plan.base_manifest):
                prune_embedding_cache(index_dir)
            report.seconds = time.perf_counter() - started
            return replace(report, **_up_to_date(plan, plan.base_manifest))
        report.full = plan.full_reason is not None
        report.reason = plan.full_reason or f"incremental: {plan.summary()}"
        if notify:
            notify(report.reason)
        try:
            written = write_version(
                plan,
                index_dir,
                embedder,
                started=started,
                policy=index_policy,
                lexical_threshold=lexical_threshold,
                progress=progress,
                notify=notify,
            )
        except (OSError, SQLiteError, RuntimeError) as exc:
            # The unfinished version is gone (IndexWriter.abort); the vectors this build added to
            # the cache may be what filled the disk: keep only those the kept versions use.
            if disk_full(exc, index_dir) and prune_embedding_cache(index_dir, drop_if_stuck=True) < 0:
                exc.add_note(CACHE_DROPPED)
            raise
        prune_embedding_cache(index_dir)
    return replace(report, **_written(written), seconds=time.perf_counter() - started)


def _plan(corpus_dir: Path, index_dir: Path, model: str, full: bool) -> tuple[BuildPlan, BuildReport]:
    """The build's plan from the corpus and the live index, and the report of what it found."""
    live = LiveIndex.read(index_dir, model, full=full)
    known = live.files()
    loaded = load_corpus(corpus_dir, known=known and known[0], stats=known and known[1], bodies=live.bodies())
    if not loaded.articles:
        _nothing_to_index(corpus_dir, loaded.skipped)
    plan = plan_build(loaded.articles, live, loaded.keeps)
    indexed = plan.base_manifest.articles if plan.base_manifest else {}
    warnings = list(loaded.warnings)
    if plan.full_reason is not None and loaded.unreadable:
        # A full build starts empty and has no text for them: say so rather than drop them quietly.
        warnings.append(
            f"{plan.full_reason}: what could not be read is left out of the new index until it can be "
            "read; an incremental build keeps it"
        )
    report = BuildReport(
        skipped=loaded.skipped,
        warnings=warnings,
        duplicates=loaded.duplicates,
        kept=sorted(a for a in indexed if loaded.keeps(a)),
        added=len(plan.added),
        changed=len(plan.changed),
        removed=len(plan.removed),
        unchanged=len(plan.unchanged),
    )
    return plan, report


def _up_to_date(plan: BuildPlan, manifest: Manifest) -> dict[str, Any]:
    """The report's fields for a build with nothing to do: the live version's."""
    return {
        "up_to_date": True,
        "version": plan.base,
        "articles": len(manifest.articles),
        "passages": manifest.counts["passages"],
        "sentences": manifest.counts["sentences"],
    }


def _written(written: Written) -> dict[str, Any]:
    """The report's fields for a version written."""
    return {
        "version": written.version,
        "articles": written.counts["articles"],
        "passages": written.counts["passages"],
        "sentences": written.counts["sentences"],
        "embedded": written.embedded,
        "reused": written.reused,
        "embed_seconds": written.embed_seconds,
        "commit_seconds": written.commit_seconds,
    }
