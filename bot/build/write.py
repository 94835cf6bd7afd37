"""Writing a planned build: split the articles, embed what the cache lacks, write and publish a version.

Each step returns what it made; `write_version` returns what the build's report says about it
(`Written`), so nothing here changes a report it was handed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.build.plan import BuildPlan, passage_embedding_text, sentence_embedding_text
from bot.corpus.articles import Article
from bot.embedding.cache import EmbeddingCache
from bot.embedding.embedder import Embedder
from bot.index.manifest import SCHEMA_VERSION, Manifest
from bot.index.vectors import IndexPolicy
from bot.index.writer import IndexWriter
from bot.text.passages import SPLITTER_VERSION, Passage, split_article
from bot.text.slots import sentence_slots

#: The articles to insert with their passages, in order.
Split = list[tuple[Article, list[Passage]]]


@dataclass(frozen=True)
class Embedded:
    """The vectors of the articles' passages and sentences, in order, and where they came from."""

    passages: np.ndarray
    sentences: np.ndarray
    #: Texts the model embedded (the others came from the cache).
    embedded: int
    reused: int
    seconds: float


@dataclass(frozen=True)
class Written:
    """What a build wrote: the version published and its counts, and what it cost."""

    version: str
    counts: dict[str, int]
    embedded: int
    reused: int
    embed_seconds: float
    commit_seconds: float


def split_articles(plan: BuildPlan) -> Split:
    """The passages of every article the plan inserts (all of them were parsed)."""
    unparsed = [a.meta.id for a in plan.to_insert if not a.parsed]
    if unparsed:  # cannot happen: only articles matching the live index are left unparsed
        raise RuntimeError(f"articles to insert were not parsed: {unparsed[:5]}")
    return [(a, split_article(a)) for a in plan.to_insert]


def embed(
    by_article: Split, plan: BuildPlan, index_dir: Path, embedder: Embedder, progress: Callable[[int, int], None] | None
) -> Embedded:
    """Vectors of every passage and sentence: from the cache, the rest from the model.

    One call for both kinds: all missing texts sorted by length together, so batches are as
    tightly padded as one raw encode of them.
    """
    passage_texts: list[str] = []
    sentence_texts: list[str] = []
    for article, passages in by_article:
        for p in passages:
            passage_texts.append(passage_embedding_text(p, article.meta.title))
            sentence_texts.extend(sentence_embedding_text(s.text) for s in p.sentences)

    def dimension() -> int:
        return plan.base_manifest.dimension if plan.base_manifest else embedder.dimension

    started = time.perf_counter()
    cache = EmbeddingCache(index_dir, embedder.model_name)
    try:
        vectors, embedded = cache.embed(
            passage_texts + sentence_texts, embedder.encode, dimension, on_progress=progress
        )
    finally:
        cache.close()
    total = len(passage_texts) + len(sentence_texts)
    return Embedded(
        passages=vectors[: len(passage_texts)],
        sentences=vectors[len(passage_texts) :],
        embedded=embedded,
        reused=total - embedded,
        seconds=time.perf_counter() - started,
    )


def manifest_articles(plan: BuildPlan, by_article: Split) -> dict[str, dict[str, Any]]:
    """The manifest's per-article entries after this build: hash, body hash, path, passages, stat."""
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
    return articles


def _fill(writer: IndexWriter, plan: BuildPlan, by_article: Split, vectors: Embedded) -> None:
    """Remove the plan's old articles from the new version and insert the new ones with their vectors."""
    # The answer slots of every new sentence, from one batched parse (the question side reads them).
    slots = sentence_slots([s.text for _, passages in by_article for p in passages for s in p.sentences])
    for article_id in plan.to_remove:
        writer.remove_article(article_id)
    pi = si = 0
    for article, passages in by_article:
        n_sentences = sum(len(p.sentences) for p in passages)
        writer.add_article(
            article.meta,
            article.content_hash,
            passages,
            vectors.passages[pi : pi + len(passages)],
            vectors.sentences[si : si + n_sentences],
            slots[si : si + n_sentences],
        )
        pi, si = pi + len(passages), si + n_sentences


def write_version(
    plan: BuildPlan,
    index_dir: Path,
    embedder: Embedder,
    *,
    started: float,
    policy: IndexPolicy,
    lexical_threshold: int,
    progress: Callable[[int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> Written:
    """Carry out a plan: a new version written beside the live one and published (`IndexWriter`).

    `started`: when the build began, for the manifest's build time. A failure leaves no trace.
    """
    by_article = split_articles(plan)
    vectors = embed(by_article, plan, index_dir, embedder, progress)
    writer = IndexWriter(
        index_dir,
        int(vectors.passages.shape[1]),
        base=plan.base,
        base_manifest=plan.base_manifest,
        policy=policy,
        lexical_threshold=lexical_threshold,
        notify=notify,
    )
    try:
        _fill(writer, plan, by_article, vectors)
        counts = writer.counts()
        manifest = Manifest(
            schema=SCHEMA_VERSION,
            splitter=SPLITTER_VERSION,
            model=embedder.model_name,
            backend=embedder.backend,
            dimension=writer.dimension,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            articles=manifest_articles(plan, by_article),
            counts=counts,
        )
        commit_started = time.perf_counter()
        writer.commit(manifest)
        commit_seconds = time.perf_counter() - commit_started
    except BaseException:
        writer.abort()
        raise
    return Written(writer.name, counts, vectors.embedded, vectors.reused, vectors.seconds, commit_seconds)
