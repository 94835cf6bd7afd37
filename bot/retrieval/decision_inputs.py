"""What the decision (`decision.py`) reads apart from the ranked passages' scores.

The question side (`asked`) needs no passage: the engine makes it on the lookup thread while the
caller encodes the question, so that less is left for the caller's thread after the search, the
query's critical path (docs/performance.md, "Query path, 2026-12-03 afternoon"). An article's
passages and quoted sources are fixed for an index version: kept per version, they spare a
statement after the search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.index.memo import remembered
from bot.retrieval.frozen import quick_init
from bot.retrieval.question import QuestionShape, names_meet, speaker_words, stem
from bot.text.slots import read_slots

if TYPE_CHECKING:
    from bot.index.reader import IndexReader
    from bot.retrieval.lexical import Term

#: Counted nouns that name no particular thing: the verb tells what is counted ("how many people died").
_GENERIC_COUNTED = frozenset({"people", "person", "individual", "time", "year", "day", "month", "week"})
#: Labels of stored numbers that count or measure (ordinals rank, they do not count).
NUMBERISH = frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY"})


def counts_particular(noun: str | None) -> bool:
    """Whether "how many X" names a particular X (not "people", "times"): X must be the one counted."""
    return bool(noun) and stem(noun or "") not in _GENERIC_COUNTED


@quick_init
@dataclass(frozen=True)
class Asked:
    """What the decision reads of the question alone: made beside the encode (`bot/engine.py`).

    The key terms' stems and IDF total, the names without acronyms, the question's words and the
    asked speaker's words need no passage: computed on the lookup thread while the caller
    encodes, they leave the caller's thread after the search (the critical path) sooner.
    """

    #: The sum of the key terms' IDFs.
    total: float
    #: Each key term's stem with its IDF, in the terms' order.
    stems: tuple[tuple[str, float], ...]
    #: The stem of the most telling key term (highest IDF), "" without terms.
    top_stem: str
    #: The IDF-weighted share of the key terms no passage holds (0 without terms).
    unknown_share: float
    #: The key terms written as names, acronyms left out ("NY", "GDP" are often spelled out).
    names: tuple[Term, ...]
    #: The stems (`stem`) of the question's words longer than two letters, the empty ones left
    #: out: what `same_stem` compares a slot's verb or noun with.
    long_stems: tuple[str, ...]
    #: The stem of the counted noun of "how many X" ("" without one).
    noun_stem: str
    #: The telling words of the asked speaker's name ("What did X say?"), stemmed.
    speaker: frozenset[str]
    #: "How many X" names a particular X (not "people", "times"): X must be the one counted.
    names_counted: bool


def asked(shape: QuestionShape, terms: list[Term]) -> Asked:
    """The question side of `features`: what it reads of the question and its key terms alone."""
    total = sum(t.idf for t in terms)
    acronyms = {w.casefold() for w in re.findall(r"\b[A-Z]{2,5}s?\b", " ".join(shape.original.split()))}
    return Asked(
        total=total,
        stems=tuple((stem(t.word), t.idf) for t in terms),
        top_stem=stem(max(terms, key=lambda t: t.idf).word) if terms else "",
        unknown_share=sum(t.idf for t in terms if not t.known) / total if total > 0 else 0.0,
        names=tuple(t for t in terms if t.name and t.word not in acronyms),
        long_stems=tuple(s for w in shape.words if len(w) > 2 and (s := stem(w))),
        noun_stem=stem(shape.asked_noun or ""),
        speaker=speaker_words(shape.asked_speaker) if shape.asked_speaker else frozenset(),
        names_counted=counts_particular(shape.asked_noun),
    )


#: Passages whose article's passage ids a reader's decision keeps; then it starts afresh.
_MEMO_PASSAGES = 4096


def article_passages(reader: IndexReader, passage_id: int) -> set[int]:
    """Every passage of a passage's article: fixed for the version, so read once per passage."""
    memo: dict[int, set[int]] = reader.memo("decision-article-passages", dict)
    return remembered(memo, passage_id, reader.article_passage_ids, _MEMO_PASSAGES)


def quoted_in_article(reader: IndexReader, wanted: frozenset[str], passage_id: int) -> bool:
    """Whether a named source of the passage's article is the asked speaker (`wanted`: their words).

    A near miss asks what someone said whom the article mentions but never quotes ("What did
    Merrick Garland say about the hearings?" over an article quoting only Grassley).
    """
    return any(names_meet(wanted, said) for said in article_sources(reader, passage_id))


def article_sources(reader: IndexReader, passage_id: int) -> frozenset[frozenset[str]]:
    """The telling words of each named source quoted in a passage's article, kept per version.

    Fixed for the version: a statement per "What did X say?" question ran after the search.
    """
    memo: dict[int, frozenset[frozenset[str]]] = reader.memo("decision-article-sources", dict)

    def read(pid: int) -> frozenset[frozenset[str]]:
        quoted = reader.quoted_sources(article_passages(reader, pid))
        return frozenset(speaker_words(name) | speaker_words(full) for _, name, full in quoted)

    return remembered(memo, passage_id, read, _MEMO_PASSAGES)


_PERSONISH = frozenset({"PERSON", "ORG", "NORP", "GPE"})

#: Stored slots parsed, kept for the process (read only here): the first quote's sentences are
#: parsed after every encode, and the quoted passages repeat.
kept_slots = lru_cache(maxsize=8192)(read_slots)


@lru_cache(maxsize=4096)
def slot_facts(
    slots: tuple[str | None, ...],
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, bool], ...], bool]:
    """What `decision._slot_evidence` reads of a passage's stored slots, its words stemmed, kept for the process.

    (stem of the counted noun, stem of the verb) of each counting number, (stem of the verb,
    whether it reports) of each date, and whether a person or body is named. A passage's slots
    never change and the best passages repeat: these were parsed and stemmed after every encode.
    """
    parsed = [kept_slots(s) for s in slots]
    numbers = tuple((stem(n[1]), stem(n[2])) for s in parsed for n in s["n"] if n[0] in NUMBERISH)
    dates = tuple((stem(v), bool(r)) for s in parsed for v, r in s["d"])
    return numbers, dates, not _PERSONISH.isdisjoint(e for s in parsed for e in s["e"])
