"""Building the index: corpus → passages → vectors (cached) → a new index version, swapped in.

The manifest records a content hash per article. A build compares it with the corpus: an up-to-date
index returns at once without loading the model; otherwise a new version starts from a copy of the
live one, loses the rows of removed and changed articles and gains those of added and changed ones
(vectors come from the cache where the text is unchanged). A different model, splitter or schema
means a full build into an empty version. Either way the new version is swapped in atomically.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from bot.corpus.articles import Article, FileStat, corpus_files, load_corpus
from bot.embedding.cache import CACHE_FILE, EmbeddingCache, cache_key, count_uncached
from bot.embedding.embedder import Embedder
from bot.errors import IndexUnavailable, ReportBotError, disk_full, storage_error
from bot.index.manifest import (
    MANIFEST,
    SCHEMA_VERSION,
    STORE,
    VERSIONS,
    Manifest,
    current_version,
    live_manifest,
    prune_versions,
)
from bot.index.vectors import IndexPolicy
from bot.index.writer import IndexWriter
from bot.settings import Settings, get_settings
from bot.text.passages import SPLITTER_VERSION, Passage, split_article
from bot.text.slots import sentence_slots

log = logging.getLogger(__name__)

#: Said when a build on a full disk had to delete the embedding cache to leave the disk as it found it.
CACHE_DROPPED = "the embedding cache was emptied to free space (the next build embeds again)"
LOCK_FILE = "build.lock"
OWNER_FILE = "build.owner"


class BuildLocked(ReportBotError):
    """Another build holds the lock on this index."""

    hint = "wait for it to finish; if its process is gone, run the build again"


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


def passage_embedding_text(passage: Passage, title: str) -> str:
    """What is embedded for a passage: its words with the context a reader has (title, section)."""
    return embedding_text(title, passage.section, passage.text)


def embedding_text(title: str, section: str | None, text: str) -> str:
    """`passage_embedding_text` from stored columns: a version's cache keys are recomputed from its store."""
    context = f"{title}. {section}." if section else f"{title}."
    return f"{context} {text}"


def sentence_embedding_text(sentence: str) -> str:
    """What is embedded for a sentence: the sentence alone, so its one fact stays sharp."""
    return sentence


@dataclass
class BuildPlan:
    """What a build would do: which articles go in, which come out, and whether from scratch."""

    added: list[Article] = field(default_factory=list)
    changed: list[Article] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[Article] = field(default_factory=list)
    #: Why every article is (re)inserted into an empty version; None for an incremental build.
    full_reason: str | None = None
    #: The live version an incremental build starts from, and its manifest.
    base: str | None = None
    base_manifest: Manifest | None = None

    @property
    def up_to_date(self) -> bool:
        """Nothing to do: the index already matches the corpus."""
        return self.full_reason is None and not (self.added or self.changed or self.removed)

    @property
    def to_insert(self) -> list[Article]:
        """Articles whose rows are written (all of them in a full build)."""
        if self.full_reason is not None:
            return [*self.added, *self.changed, *self.unchanged]
        return [*self.added, *self.changed]

    @property
    def to_remove(self) -> list[str]:
        """Ids of articles whose rows leave the base version (changed ones come back renewed)."""
        return [] if self.full_reason is not None else [*self.removed, *(a.meta.id for a in self.changed)]

    def summary(self) -> str:
        """One line: how the corpus differs from the index."""
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged"
        )


@dataclass
class LiveIndex:
    """The live version a build starts from and its manifest, read once; or why the build is full."""

    version: str | None = None
    manifest: Manifest | None = None
    full_reason: str | None = None

    @classmethod
    def read(cls, index_dir: Path, model: str, *, full: bool = False) -> LiveIndex:
        """The live version, if an incremental build can start from it (same model, splitter, schema)."""
        if full:
            return cls(full_reason="full rebuild requested")
        if current_version(index_dir) is None:
            return cls(full_reason="no index yet")
        try:
            version, manifest = live_manifest(index_dir, model=model, splitter=SPLITTER_VERSION)
        except IndexUnavailable as exc:
            return cls(full_reason=f"full rebuild: {exc}")
        return cls(version, manifest)

    def files(self) -> tuple[dict[str, str], dict[str, FileStat]] | None:
        """Article id → content hash, and → file stat as recorded (see `load_article`).

        Older manifests and files that were changing while read have no stat: those files are hashed.
        """
        if self.manifest is None:
            return None
        hashes = {a: v["hash"] for a, v in self.manifest.articles.items()}
        stats = {a: tuple(v["stat"]) for a, v in self.manifest.articles.items() if v.get("stat")}
        return hashes, stats  # type: ignore[return-value]

    def bodies(self) -> dict[str, str] | None:
        """Article id → body hash as recorded, for recognising a copy of an unread file's article."""
        if self.manifest is None:
            return None
        return {a: v["body"] for a, v in self.manifest.articles.items() if v.get("body")}


def plan_build(articles: list[Article], live: LiveIndex, keep: Callable[[str], bool] | None = None) -> BuildPlan:
    """Compare the corpus with the live index; a changed model, splitter or schema means a full build.

    `keep(article_id)` says which indexed articles stay although no file was loaded for them: those
    whose file or folder could not be read (`CorpusLoad.keeps`). Unreadable is not deleted.
    """
    plan = BuildPlan(full_reason=live.full_reason, base=live.version, base_manifest=live.manifest)
    built = {a: v["hash"] for a, v in live.manifest.articles.items()} if live.manifest else {}
    now = {a.meta.id for a in articles}
    if keep is not None:
        now |= {article_id for article_id in built if keep(article_id)}
    for article in articles:
        old = built.get(article.meta.id)
        if plan.full_reason is not None or old == article.content_hash:
            plan.unchanged.append(article)
        elif old is None:
            plan.added.append(article)
        else:
            plan.changed.append(article)
    plan.removed = sorted(built.keys() - now)
    return plan


@dataclass(frozen=True)
class EmbedEstimate:
    """How much a build would embed, known from the cache without loading the model."""

    passages: int
    passages_to_embed: int
    sentences: int
    sentences_to_embed: int


def estimate_embedding(plan: BuildPlan, index_dir: Path, model: str) -> EmbedEstimate:
    """Passages and sentences of the articles to insert, and how many of them are not cached yet."""
    passage_texts: list[str] = []
    sentence_texts: list[str] = []
    for article in plan.to_insert:
        for p in split_article(article):
            passage_texts.append(passage_embedding_text(p, article.meta.title))
            sentence_texts.extend(sentence_embedding_text(s.text) for s in p.sentences)
    return EmbedEstimate(
        passages=len(passage_texts),
        passages_to_embed=count_uncached(index_dir, model, passage_texts),
        sentences=len(sentence_texts),
        sentences_to_embed=count_uncached(index_dir, model, sentence_texts),
    )


def _nothing_to_index(corpus_dir: Path, skipped: list[str]) -> None:
    where = f"{corpus_dir}/" if corpus_dir.is_dir() else f"{corpus_dir}/ (no such folder)"
    reasons = "".join(f"\n  skipped: {line}" for line in skipped)
    raise ReportBotError(
        f"nothing to index in {where}{reasons}", hint="add .txt, .md or .html articles to the corpus folder"
    )


def live_version(index_dir: Path) -> str | None:
    """Name of the live index version, or None when there is none (no folder, no finished build)."""
    return current_version(index_dir) if index_dir.is_dir() else None


def live_hashes(index_dir: Path, model: str) -> dict[str, str] | None:
    """Article id → content hash of the live index, when an incremental build can start from it."""
    known = live_files(index_dir, model)
    return None if known is None else known[0]


def live_files(index_dir: Path, model: str) -> tuple[dict[str, str], dict[str, FileStat]] | None:
    """Article id → content hash, and → file stat as recorded, of the live index (`LiveIndex.files`)."""
    return LiveIndex.read(index_dir, model).files()


class _BuildLock:
    """An exclusive lock on the index folder that says who holds it.

    A build that finds another one running waits up to `wait` seconds for it (saying so through
    `notify`): two builds started together, e.g. `add_article.py` twice, both succeed in turn.
    """

    def __init__(self, index_dir: Path, *, wait: float = 0, notify: Callable[[str], None] | None = None) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.owner = index_dir / OWNER_FILE
        self.lock = FileLock(index_dir / LOCK_FILE, timeout=0)
        self.wait = wait
        self.notify = notify

    def _holder(self) -> str:
        try:
            return self.owner.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            return "another process"

    def __enter__(self) -> _BuildLock:
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            if self.wait <= 0:
                raise BuildLocked(f"another build is running on this index ({self._holder()})") from None
            if self.notify:
                self.notify(
                    f"another build is running on this index ({self._holder()}); "
                    f"waiting up to {self.wait:g} s for it to finish"
                )
            try:
                self.lock.acquire(timeout=self.wait, poll_interval=0.1)
            except Timeout:
                raise BuildLocked(f"another build is running on this index ({self._holder()})") from None
        try:
            self.owner.write_text(
                f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC", encoding="utf-8"
            )
        except BaseException:  # a full disk, or Ctrl-C right here: leave neither file nor lock
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.owner.unlink(missing_ok=True)
        except OSError:  # a folder where the owner file goes: reported when the build wrote it
            pass
        finally:
            self.lock.release()


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
    except (OSError, sqlite3.Error, RuntimeError) as exc:
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
    report = BuildReport()
    unreadable: list[tuple[Path, str]] = []
    if not any(corpus_files(corpus_dir, unreadable)):
        _nothing_to_index(corpus_dir, [f"{folder}/: cannot read folder ({why})" for folder, why in unreadable])
    with _BuildLock(index_dir, wait=lock_wait, notify=notify):
        prune_versions(index_dir)  # leftovers of a killed build
        # Under the lock, so the live version cannot change between this look and the plan.
        live = LiveIndex.read(index_dir, embedder.model_name, full=full)
        known = live.files()
        loaded = load_corpus(corpus_dir, known=known and known[0], stats=known and known[1], bodies=live.bodies())
        report.skipped, report.warnings, report.duplicates = loaded.skipped, loaded.warnings, loaded.duplicates
        if not loaded.articles:
            _nothing_to_index(corpus_dir, loaded.skipped)
        plan = plan_build(loaded.articles, live, loaded.keeps)
        indexed = plan.base_manifest.articles if plan.base_manifest else {}
        report.kept = sorted(a for a in indexed if loaded.keeps(a))
        if plan.full_reason is not None and loaded.unreadable:
            # A full build starts empty and has no text for them: say so rather than drop them quietly.
            report.warnings.append(
                f"{plan.full_reason}: what could not be read is left out of the new index until it can be "
                "read; an incremental build keeps it"
            )
        report.plan_seconds = time.perf_counter() - started
        report.added, report.changed = len(plan.added), len(plan.changed)
        report.removed, report.unchanged = len(plan.removed), len(plan.unchanged)
        if plan.up_to_date and plan.base_manifest is not None:
            report.up_to_date = True
            report.version = plan.base
            report.articles = len(plan.base_manifest.articles)
            report.passages = plan.base_manifest.counts["passages"]
            report.sentences = plan.base_manifest.counts["sentences"]
            if _cache_oversized(index_dir, plan.base_manifest):
                prune_embedding_cache(index_dir)
            report.seconds = time.perf_counter() - started
            return report
        report.full = plan.full_reason is not None
        report.reason = plan.full_reason or f"incremental: {plan.summary()}"
        if notify:
            notify(report.reason)
        try:
            _write_version(
                plan, index_dir, embedder, report, progress, started, index_policy, lexical_threshold, notify
            )
        except (OSError, sqlite3.Error, RuntimeError) as exc:
            # The unfinished version is gone (IndexWriter.abort); the vectors this build added to
            # the cache may be what filled the disk: keep only those the kept versions use.
            if disk_full(exc, index_dir) and prune_embedding_cache(index_dir, drop_if_stuck=True) < 0:
                exc.add_note(CACHE_DROPPED)
            raise
        prune_embedding_cache(index_dir)
    report.seconds = time.perf_counter() - started
    return report


def used_cache_keys(index_dir: Path) -> set[str]:
    """Cache keys of every vector the finished versions on disk were built from.

    Recomputed from each version's store (titles, sections, passage and sentence texts) and its
    manifest's model, exactly as `_write_version` embeds them; about 1 s per 400,000 texts.
    """
    keys: set[str] = set()
    root = index_dir / VERSIONS
    if not root.is_dir():
        return keys
    for version in root.iterdir():
        if version.name.endswith(".partial") or not (version / MANIFEST).is_file():
            continue
        model = Manifest.read(version / MANIFEST).model
        db = sqlite3.connect(f"file:{(version / STORE).resolve()}?mode=ro&immutable=1", uri=True)
        try:
            rows = db.execute(
                "SELECT a.title, p.section, p.text FROM passages p JOIN articles a ON a.id = p.article_id"
            )
            keys.update(cache_key(model, embedding_text(t, sec, text)) for t, sec, text in rows)
            sentences = db.execute("SELECT text FROM sentences")
            keys.update(cache_key(model, sentence_embedding_text(t)) for (t,) in sentences)
        finally:
            db.close()
    return keys


def prune_embedding_cache(index_dir: Path, *, drop_if_stuck: bool = False) -> int:
    """Keep only the cached vectors of the versions on disk (the live one and the one before it).

    Called under the build lock after every build that wrote a version, and after one that failed
    on a full disk. With `drop_if_stuck`, a cache that cannot even be pruned (no room for SQLite's
    journal) is deleted: it only saves re-embedding, and it must not keep the disk full.
    Returns how many vectors were removed.
    """
    path = index_dir / CACHE_FILE
    if not path.is_file():
        return 0
    try:
        keep = used_cache_keys(index_dir)
        cache = EmbeddingCache(index_dir, "")
        try:
            removed = cache.prune(keep)
        finally:
            cache.close()
    except (OSError, sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        log.debug("could not prune the embedding cache %s: %s", path, exc)
        if not drop_if_stuck:
            return 0
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        return -1
    if removed:
        log.debug("embedding cache: %d vectors no longer used by the kept versions removed", removed)
    return removed


def _cache_oversized(index_dir: Path, manifest: Manifest) -> bool:
    """Whether the cache file is clearly bigger than the live version's vectors need (cheap: a stat).

    An up-to-date build then prunes it too, so a cache grown before pruning existed shrinks
    without waiting for the next change.
    """
    try:
        size = (index_dir / CACHE_FILE).stat().st_size
    except OSError:
        return False
    vectors = manifest.counts.get("passages", 0) + manifest.counts.get("sentences", 0)
    # Twice the live version (the one before it is about as big), plus SQLite's key and page overhead.
    return size > 2 * vectors * (manifest.dimension * 4 + 200) + (1 << 20)


def _write_version(
    plan: BuildPlan,
    index_dir: Path,
    embedder: Embedder,
    report: BuildReport,
    progress: Callable[[int, int], None] | None,
    started: float,
    index_policy: IndexPolicy,
    lexical_threshold: int,
    notify: Callable[[str], None] | None = None,
) -> None:
    unparsed = [a.meta.id for a in plan.to_insert if not a.parsed]
    if unparsed:  # cannot happen: only articles matching the live index are left unparsed
        raise RuntimeError(f"articles to insert were not parsed: {unparsed[:5]}")
    by_article = [(a, split_article(a)) for a in plan.to_insert]
    passage_texts: list[str] = []
    sentence_texts: list[str] = []
    for article, passages in by_article:
        for p in passages:
            passage_texts.append(passage_embedding_text(p, article.meta.title))
            sentence_texts.extend(sentence_embedding_text(s.text) for s in p.sentences)

    cache = EmbeddingCache(index_dir, embedder.model_name)
    total = len(passage_texts) + len(sentence_texts)

    def dimension() -> int:
        return plan.base_manifest.dimension if plan.base_manifest else embedder.dimension

    embed_started = time.perf_counter()
    try:
        # One call for both kinds: all missing texts sorted by length together, so batches are
        # as tightly padded as one raw encode of them.
        vectors, report.embedded = cache.embed(
            passage_texts + sentence_texts, embedder.encode, dimension, on_progress=progress
        )
    finally:
        cache.close()
    passage_vectors, sentence_vectors = vectors[: len(passage_texts)], vectors[len(passage_texts) :]
    report.embed_seconds = time.perf_counter() - embed_started
    report.reused = total - report.embedded

    # The answer slots of every new sentence, from one batched parse (the question side reads them).
    slots = sentence_slots([s.text for _, passages in by_article for p in passages for s in p.sentences])

    writer = IndexWriter(
        index_dir,
        int(passage_vectors.shape[1]),
        base=plan.base,
        base_manifest=plan.base_manifest,
        policy=index_policy,
        lexical_threshold=lexical_threshold,
        notify=notify,
    )
    try:
        for article_id in plan.to_remove:
            writer.remove_article(article_id)
        pi = si = 0
        for article, passages in by_article:
            n_sentences = sum(len(p.sentences) for p in passages)
            writer.add_article(
                article.meta,
                article.content_hash,
                passages,
                passage_vectors[pi : pi + len(passages)],
                sentence_vectors[si : si + n_sentences],
                slots[si : si + n_sentences],
            )
            pi, si = pi + len(passages), si + n_sentences
        counts = writer.counts()
        articles = dict(plan.base_manifest.articles) if plan.base_manifest and plan.full_reason is None else {}
        for article_id in plan.to_remove:
            articles.pop(article_id, None)
        for article, passages in by_article:
            articles[article.meta.id] = {
                "hash": article.content_hash,
                "body": article.body_hash,
                "path": article.meta.path,
                "passages": len(passages),
                "stat": article.stat,
            }
        for article in plan.unchanged:
            if article.meta.id in articles:
                entry = articles[article.meta.id]
                articles[article.meta.id] = {**entry, "path": article.meta.path, "stat": article.stat}
        manifest = Manifest(
            schema=SCHEMA_VERSION,
            splitter=SPLITTER_VERSION,
            model=embedder.model_name,
            backend=embedder.backend,
            dimension=writer.dimension,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            articles=articles,
            counts=counts,
        )
        commit_started = time.perf_counter()
        writer.commit(manifest)
        report.commit_seconds = time.perf_counter() - commit_started
    except BaseException:
        writer.abort()
        raise
    report.version = writer.name
    report.articles = counts["articles"]
    report.passages = counts["passages"]
    report.sentences = counts["sentences"]


def publish_to_milvus(settings: Settings, *, full: bool) -> str:
    """SEARCH_BACKEND=milvus: copy what the build published to Milvus; the line that says so."""
    from bot.index.milvus.sync import sync_settings

    report = sync_settings(settings, settings.index_dir, full=full)
    what = "published version" if report.full else "updated version"
    return (
        f"milvus: {what} {report.version} at {settings.milvus_uri} ({len(report.added)} articles added, "
        f"{len(report.removed)} removed) in {report.seconds:.1f} s"
    )
