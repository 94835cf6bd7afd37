"""Turning ranked passages into quotes: the sentence(s) to quote, their speaker and source.

A quote is the passage's best sentence, extended to a neighbour when the answer runs across
both (`quote_span`); `make_quotes` reads all of the passages and their sentences at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bot.index.reader import IndexReader
from bot.index.records import PassageRecord, SentenceRecord
from bot.retrieval.answers import Quote
from bot.retrieval.lexical import Term, lexicon
from bot.retrieval.search import Scored

#: IDF a neighbouring sentence must add (key terms the best sentence lacks) to join the quote.
QUOTE_EXTENSION_GAIN = 1.5


def _sentence_terms(reader: IndexReader, sentence_ids: list[int], terms: list[Term]) -> dict[int, set[str]]:
    """Which key terms each sentence holds (matched as the index stems them)."""
    held: dict[int, set[str]] = {sid: set() for sid in sentence_ids}
    searched = [t for t in terms if t.searched]
    if not sentence_ids or not searched:
        return held
    found = sentences_holding_each(reader, [t.searched for t in searched if t.searched], sentence_ids)
    for t, sids in zip(searched, found, strict=True):
        for sid in sids:
            held[sid].add(t.word)
    return held


#: Terms, and sentences per term, whose answers `sentences_holding_each` keeps per version (at
#: most ~260,000 pairs, ~20 MiB); past either, that term (or every term) starts afresh.
_KEPT_TERMS = 1024
_KEPT_PER_TERM = 256


def sentences_holding_each(reader: IndexReader, terms: list[str], sentence_ids: list[int]) -> list[frozenset[int]]:
    """For each term, which of these sentences hold it (`Lexicon.sentences_holding_each`), kept.

    Kept per term and sentence for the version: the quotes ask this right after the question's
    encode, and a topic's questions ask it again of the same sentences; only the terms with
    sentences not asked about before go to the index, in one call. Threads share what is kept:
    its dicts only ever gain keys or are replaced, never iterated, so none sees one change size.
    """
    kept: dict[str, dict[int, bool]] = reader.memo("sentence-terms", dict)
    ids = list(dict.fromkeys(sentence_ids))
    known = {t: kept.get(t) or {} for t in dict.fromkeys(terms)}
    asked = [t for t, held in known.items() if any(sid not in held for sid in ids)]
    if asked:
        if len(kept) > _KEPT_TERMS:
            kept.clear()  # what this call uses is in `known`
        for t, rows in zip(asked, lexicon(reader).sentences_holding_each(asked, ids), strict=True):
            held = known[t] if len(known[t]) < _KEPT_PER_TERM else {}
            found = set(rows)
            held.update((sid, sid in found) for sid in ids)
            known[t] = kept[t] = held
    return [frozenset(sid for sid in ids if known[t][sid]) for t in terms]


#: Passages whose records (text, sentences, speakers) a reader keeps for quoting; then it starts afresh.
_KEPT_PASSAGES = 4096


def passage_records(reader: IndexReader, ids: Iterable[int]) -> dict[int, PassageRecord]:
    """The passages' records with their sentences, read from the index once per version.

    A version never changes, and answers quote the same passages again (a topic's questions,
    "More", the chat's repeats): each read costs a statement and a record per sentence.
    """
    kept: dict[int, PassageRecord] = reader.memo("quoted-passages", dict)
    found: dict[int, PassageRecord] = {}
    missing = []
    for pid in ids:
        record = kept.get(pid)
        if record is None:
            missing.append(pid)
        else:
            found[pid] = record
    if missing:
        fresh = reader.passages(missing)
        found.update(fresh)
        if len(kept) + len(fresh) > _KEPT_PASSAGES:
            kept.clear()
        kept.update(fresh)
    return found


def quote_span(
    scored: Scored, terms: list[Term], rows: Sequence[SentenceRecord], held: dict[int, set[str]]
) -> tuple[int, int]:
    """(start, end) in the passage text of the sentence(s) to quote.

    The best sentence, extended to a neighbouring sentence of the passage when that neighbour
    holds key terms of the question the best sentence lacks (the answer runs across both), or
    when the best sentence opens a quotation the next one closes. Always whole sentences.
    `rows` are the passage's sentences in order; `held`, the key terms each sentence holds.
    """
    pos = next(i for i, r in enumerate(rows) if r.id == scored.sentence_id)
    return _span(pos, rows, held, {t.word: t.idf for t in terms})


def _span(
    pos: int, rows: Sequence[SentenceRecord], held: dict[int, set[str]], idf: dict[str, float]
) -> tuple[int, int]:
    """`quote_span` of the sentence at `pos` of `rows`, with the key terms' IDFs by word.

    `make_quotes` finds each quoted sentence's place once and the IDFs once for all its quotes.
    """
    start, end = rows[pos].start, rows[pos].end
    if len(rows) == 1:
        return start, end
    best = held[rows[pos].id]
    gains = {}
    for j in (pos - 1, pos + 1):
        if 0 <= j < len(rows):
            gains[j] = sum(idf[w] for w in held[rows[j].id] - best)
    text = rows[pos].text
    opens_quote = text.count('"') % 2 == 1 or text.count("“") > text.count("”")
    if opens_quote and pos + 1 < len(rows) and not text.lstrip().startswith(("'", "”")):
        gains[pos + 1] = gains.get(pos + 1, 0.0) + QUOTE_EXTENSION_GAIN
    if gains:
        j = max(gains, key=lambda i: gains[i])
        if gains[j] >= QUOTE_EXTENSION_GAIN:
            start, end = min(start, rows[j].start), max(end, rows[j].end)
    return start, end


def make_quotes(
    reader: IndexReader,
    ranked: list[Scored],
    terms: list[Term] | None = None,
    passages: Mapping[int, PassageRecord] | None = None,
) -> list[Quote]:
    """Materialise scored passages as `Quote`s with their best sentence(s) and speakers.

    Two reads for all of them (passages with their sentences, the key terms those sentences
    hold), not three per quote; one when the caller has read the passages (`passages`).
    """
    if not ranked:
        return []
    terms = terms or []
    if passages is None:
        passages = passage_records(reader, (s.passage_id for s in ranked))
    # A quote extends only to a neighbour of its sentence: their terms are all it needs.
    near = []
    places = []
    for scored in ranked:
        rows = passages[scored.passage_id].sentences
        pos = next(i for i, r in enumerate(rows) if r.id == scored.sentence_id)
        places.append(pos)
        if len(rows) > 1:
            near += [r.id for r in rows[max(0, pos - 1) : pos + 2]]
    held = _sentence_terms(reader, near, terms)
    articles = reader.articles()
    idf = {t.word: t.idf for t in terms}
    kept: dict[int, tuple[PassageRecord, tuple[str | None, ...], tuple[str, ...]]] = reader.memo("quote-parts", dict)
    quotes = []
    for scored, pos in zip(ranked, places, strict=True):
        p = passages[scored.passage_id]
        s = p.sentences[pos]
        start, end = _span(pos, p.sentences, held, idf)
        slots, speakers = _sentence_parts(kept, p)
        quotes.append(
            Quote(
                passage_id=p.id,
                text=p.text,
                quote_start=start,
                quote_end=end,
                score=scored.dense,
                speaker=s.speaker,
                article=articles[p.article_id],
                paragraph=p.paragraph,
                kind=p.kind,
                section=p.section,
                slots=slots,
                speakers=speakers,
            )
        )
    return quotes


def _sentence_parts(
    kept: dict[int, tuple[PassageRecord, tuple[str | None, ...], tuple[str, ...]]], p: PassageRecord
) -> tuple[tuple[str | None, ...], tuple[str, ...]]:
    """A quoted passage's sentences' slots and named sources, as its `Quote` holds them, kept per version.

    Made from the passage record alone (the same object while `passage_records` keeps it): they
    were built again for each quote after every search, a string per source.
    """
    found = kept.get(p.id)
    if found is not None and found[0] is p:
        return found[1], found[2]
    slots = tuple(r.slots for r in p.sentences)
    speakers = tuple(f"{r.speaker.name} {r.speaker.full_name or ''}" for r in p.sentences if r.speaker.kind == "source")
    if len(kept) >= _KEPT_PASSAGES:
        kept.clear()
    kept[p.id] = (p, slots, speakers)
    return slots, speakers


def source_quotes(reader: IndexReader, name: str, limit: int) -> list[Quote]:
    """The sentences attributed to a speaker found by name, full name or acronym, as quotes."""
    articles = reader.articles()
    return [
        Quote(
            passage_id=q.passage.id,
            text=q.passage.text,
            quote_start=q.sentence.start,
            quote_end=q.sentence.end,
            score=1.0,
            speaker=q.sentence.speaker,
            article=articles[q.passage.article_id],
            paragraph=q.passage.paragraph,
            kind=q.passage.kind,
            section=q.passage.section,
        )
        for q in reader.quotes_by(name, limit)
    ]
