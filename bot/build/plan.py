"""Planning a build: what the corpus and the live index differ by, and what would be embedded.

A build compares each article's content hash with the live manifest: unchanged articles keep
their rows, added and changed ones are split and embedded, removed ones are deleted. A
different model, splitter or schema means a full build into an empty version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.corpus.articles import Article, FileStat
from bot.embedding.cache import count_uncached
from bot.errors import IndexUnavailable
from bot.index.manifest import Manifest, current_version, live_manifest
from bot.text.passages import SPLITTER_VERSION, Passage, split_article


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
        return hashes, stats

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
