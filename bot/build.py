"""Building the index: corpus → passages → vectors (cached) → a new index version, swapped in.

Unchanged articles with the same model and splitter are detected from the manifest, so running a
build on an up-to-date index returns at once without loading the model.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from bot.corpus import Article, load_corpus
from bot.embedder import Embedder
from bot.embedding_cache import EmbeddingCache
from bot.errors import IndexUnavailable, ReportBotError
from bot.passages import SPLITTER_VERSION, Passage, split_article
from bot.store import SCHEMA_VERSION, IndexReader, IndexWriter, Manifest, current_version
from bot.vector_index import IndexPolicy

log = logging.getLogger(__name__)

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
    version: str | None = None
    up_to_date: bool = False
    reason: str = ""


def passage_embedding_text(passage: Passage, title: str) -> str:
    """What is embedded for a passage: its words with the context a reader has (title, section)."""
    context = f"{title}. {passage.section}." if passage.section else f"{title}."
    return f"{context} {passage.text}"


def sentence_embedding_text(sentence: str) -> str:
    """What is embedded for a sentence: the sentence alone, so its one fact stays sharp."""
    return sentence


def _stale_reason(index_dir: Path, articles: list[Article], model: str) -> str | None:
    """Why the index must be rebuilt, or None when it already matches the corpus."""
    if current_version(index_dir) is None:
        return "no index yet"
    try:
        reader = IndexReader(index_dir, model=model, splitter=SPLITTER_VERSION)
    except IndexUnavailable as exc:
        return str(exc)
    built = {a: v["hash"] for a, v in reader.manifest.articles.items()}
    now = {a.meta.id: a.content_hash for a in articles}
    if built != now:
        added = len(now.keys() - built.keys())
        removed = len(built.keys() - now.keys())
        changed = sum(1 for k in now.keys() & built.keys() if now[k] != built[k])
        return f"corpus changed: {added} added, {changed} changed, {removed} removed"
    return None


class _BuildLock:
    """An exclusive lock on the index folder that says who holds it."""

    def __init__(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.owner = index_dir / OWNER_FILE
        self.lock = FileLock(index_dir / LOCK_FILE, timeout=0)

    def __enter__(self) -> _BuildLock:
        try:
            self.lock.acquire()
        except Timeout:
            try:
                holder = self.owner.read_text(encoding="utf-8").strip()
            except OSError:
                holder = "another process"
            raise BuildLocked(f"another build is running on this index ({holder})") from None
        self.owner.write_text(f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self.owner.unlink(missing_ok=True)
        self.lock.release()


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
    index_policy: IndexPolicy | None = None,
) -> BuildReport:
    """Build (or refresh) the index of `corpus_dir` in `index_dir`.

    `progress(done, total)` is called as texts are embedded. `index_policy` picks the FAISS index
    type (default: the FAISS_* settings). Raises `ReportBotError` when nothing
    could be indexed; a partly bad corpus builds from what loads and lists the rest in `skipped`.
    """
    started = time.perf_counter()
    report = BuildReport()
    loaded = load_corpus(corpus_dir)
    report.skipped, report.warnings = loaded.skipped, loaded.warnings
    if not loaded.articles:
        where = f"{corpus_dir}/" if corpus_dir.is_dir() else f"{corpus_dir}/ (no such folder)"
        reasons = "".join(f"\n  skipped: {line}" for line in loaded.skipped)
        hint = "add .txt or .md articles to the corpus folder"
        raise ReportBotError(f"nothing to index in {where}{reasons}", hint=hint)
    with _BuildLock(index_dir):
        reason = None if full else _stale_reason(index_dir, loaded.articles, embedder.model_name)
        if not full and reason is None:
            reader = IndexReader(index_dir)
            report.up_to_date = True
            report.version = reader.version
            report.articles = len(reader.manifest.articles)
            report.passages = reader.manifest.counts["passages"]
            report.sentences = reader.manifest.counts["sentences"]
            report.seconds = time.perf_counter() - started
            return report
        report.reason = "full rebuild requested" if full else reason or ""
        _write_version(loaded.articles, index_dir, embedder, report, progress, index_policy)
    report.seconds = time.perf_counter() - started
    return report


def _write_version(
    articles: list[Article],
    index_dir: Path,
    embedder: Embedder,
    report: BuildReport,
    progress: Callable[[int, int], None] | None,
    index_policy: IndexPolicy | None = None,
) -> None:
    by_article = [(a, split_article(a)) for a in articles]
    passage_texts: list[str] = []
    sentence_texts: list[str] = []
    for article, passages in by_article:
        for p in passages:
            passage_texts.append(passage_embedding_text(p, article.meta.title))
            sentence_texts.extend(sentence_embedding_text(s.text) for s in p.sentences)

    cache = EmbeddingCache(index_dir, embedder.model_name)
    total = len(passage_texts) + len(sentence_texts)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    try:
        passage_vectors, new_p = cache.embed(
            passage_texts, embedder.encode, lambda: embedder.dimension, on_progress=tick
        )
        sentence_vectors, new_s = cache.embed(
            sentence_texts, embedder.encode, lambda: embedder.dimension, on_progress=tick
        )
    finally:
        cache.close()
    report.embedded = new_p + new_s
    report.reused = total - report.embedded
    if progress:
        progress(total, total)

    writer = IndexWriter(index_dir, int(passage_vectors.shape[1]), index_policy)
    try:
        counts = _fill(writer, by_article, passage_vectors, sentence_vectors)
        manifest = Manifest(
            schema=SCHEMA_VERSION,
            splitter=SPLITTER_VERSION,
            model=embedder.model_name,
            backend=embedder.backend,
            dimension=int(passage_vectors.shape[1]),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=0.0,
            articles={
                a.meta.id: {"hash": a.content_hash, "path": a.meta.path, "passages": len(ps)} for a, ps in by_article
            },
            counts=counts,
        )
        writer.commit(manifest)
    except BaseException:
        writer.abort()
        raise
    report.version = writer.name
    report.articles = len(articles)
    report.passages = counts["passages"]
    report.sentences = counts["sentences"]


def _fill(writer: IndexWriter, by_article, passage_vectors, sentence_vectors) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Insert rows and vectors; ids are positions, so vector i belongs to passage/sentence i."""
    db = writer.db
    pid = sid = 0
    for article, passages in by_article:
        m = article.meta
        db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
            (m.id, m.title, m.publisher, m.date, m.url, m.byline, m.path, article.content_hash, len(passages)),
        )
        seen_paragraphs: set[int] = set()
        for p in passages:
            if p.paragraph not in seen_paragraphs:
                seen_paragraphs.add(p.paragraph)
                db.execute(
                    "INSERT INTO paragraphs VALUES (?,?,?,?,?)",
                    (m.id, p.paragraph, str(p.kind), p.section, p.paragraph_text),
                )
            db.execute(
                "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)",
                (pid, m.id, p.paragraph, p.window, str(p.kind), p.section, p.text, p.content_hash),
            )
            for pos, s in enumerate(p.sentences):
                sp = s.speaker
                db.execute(
                    "INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        sid,
                        pid,
                        pos,
                        s.start,
                        s.end,
                        s.text,
                        sp.name,
                        sp.kind,
                        sp.via,
                        sp.full_name,
                        sp.rule,
                        sp.said_as,
                    ),
                )
                sid += 1
            pid += 1
    writer.add_vectors("passages", list(range(pid)), passage_vectors)
    writer.add_vectors("sentences", list(range(sid)), sentence_vectors)
    return {"articles": len(by_article), "passages": pid, "sentences": sid}
