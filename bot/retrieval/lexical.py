"""The lexical side of retrieval: question key terms and SQLite FTS5 BM25 over the index.

The FTS5 tables live in `store.sqlite` beside the passages and sentences they index (kept in step
by triggers, see `bot/index/store.py`), use the Porter stemmer, and give three things the dense side
cannot: exact names and numbers, the title/section of a passage as searchable context, and a
vocabulary, so that a key term the report never uses ("Nobel", "French") is known to be absent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.index.postings import LexicalIndex, Postings
from bot.index.store import IndexReader, in_list
from bot.retrieval.spelling import CloseWords

#: Words that carry no content of their own in a question: function words, question words and
#: the verbs every news question uses. What is left are the key terms.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "didn",
        "do",
        "does",
        "doesn",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "isn",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "wasn",
        "we",
        "were",
        "weren",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "won",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "whats",
        "what's",
        "who's",
        "where's",
        "ever",
        "many",
        "much",
        "tell",
        "say",
        "said",
        "says",
        "saying",
        "told",
        "according",
        "report",
        "reported",
        "reports",
        "happen",
        "happened",
        "happening",
        "mention",
        "mentioned",
        "describe",
        "described",
        "give",
        "given",
        "know",
        "known",
        "called",
        "name",
        "named",
        "kind",
        "type",
        "sort",
        "thing",
        "things",
        "anything",
        "something",
        "get",
        "got",
        "go",
        "going",
        "like",
        "does",
        "did",
        "done",
        "make",
        "made",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s$")
#: Unknown words this long or longer are matched to a close word of the index (typos).
FUZZY_MIN_CHARS = 5
FUZZY_CUTOFF = 0.8
#: An unknown word that extends a name of the index by at most this many letters ("iranian" for
#: "Iran") is read as a name derived from it: a different one, which the report never uses.
DERIVED_NAME_MAX_SUFFIX = 4
DERIVED_NAME_MIN_STEM = 4


def key_terms(question: str) -> list[str]:
    """The content words of a question, lower-cased, in order, without repeats."""
    terms: list[str] = []
    for match in _WORD.finditer(question):
        acronym = len(match.group()) > 1 and match.group().isupper()  # "WHO" is a name, "who" is not
        word = _POSSESSIVE.sub("", match.group().casefold()).replace("’", "'")
        if (word in STOPWORDS and not acronym) or (len(word) < 2 and not word.isdigit()):
            continue
        if word not in terms:
            terms.append(word)
    return terms


def name_terms(question: str) -> set[str]:
    """Key terms written as names: capitalised other than as the question's first word, or digits.

    "How many Iranian soldiers..." → {"iranian"}. A name the report never uses means the
    question is about something else; a common word it never uses ("navy" for "warships") does
    not, so only names count as evidence against answering. Lower-case questions have none.
    """
    names: set[str] = set()
    for i, match in enumerate(_WORD.finditer(question)):
        word = match.group()
        if (i > 0 and word[0].isupper()) or (len(word) > 1 and word.isupper()):
            names.add(_POSSESSIVE.sub("", word.casefold()).replace("’", "'"))
    return names


def _phrase(term: str) -> str:
    """A term as an FTS5 string literal (quotes doubled), safe whatever it contains."""
    return '"' + term.replace('"', '""') + '"'


@dataclass(frozen=True)
class Term:
    """A key term of the question as the index knows it."""

    word: str
    #: What is searched: the word, or the close index word it is taken to be a typo of.
    searched: str | None
    #: Passages whose text or context holds it (a set, or a view of the postings of a large index).
    passages: frozenset[int] | Postings
    #: Inverse document frequency over passages (higher is rarer, i.e. more telling).
    idf: float
    #: Written as a name in the question (see `name_terms`).
    name: bool = False

    @property
    def known(self) -> bool:
        """False when no passage of the index holds this word (nor a close spelling of it)."""
        return bool(self.passages)


class Lexicon:
    """BM25 search and term statistics over one index version (cached per reader).

    A large index (`LEXICAL_POSTINGS_THRESHOLD`) has its FTS5 postings as arrays too
    (`bot/index/postings.py`): then term lookups and BM25 run on them, with FTS5's tokens and
    scores, and FTS5 answers only what they cannot (phrases of several tokens, case, typos).
    """

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self.passage_count = max(1, reader.passage_index.ntotal)
        self.passage_postings = reader.lexical_index("passages")
        self.sentence_postings = reader.lexical_index("sentences")

    @property
    def vocabulary(self) -> list[str]:
        """Every (stemmed) term of the passages, for typo matching."""
        return _vocabulary(self.reader)

    def passages_with(self, term: str) -> frozenset[int] | Postings:
        """Ids of the passages whose text or context holds `term` (after stemming)."""
        return self._matching(self.passage_postings, "passages_fts", [term])[0]

    def sentences_holding_each(self, terms: list[str], sentence_ids: list[int]) -> list[frozenset[int]]:
        """For each term, which of these sentences hold it (after stemming)."""
        return self._matching(self.sentence_postings, "sentences_fts", terms, sentence_ids)  # type: ignore[return-value]

    def _matching(
        self, postings: LexicalIndex | None, table: str, terms: list[str], within: list[int] | None = None
    ) -> list[frozenset[int] | Postings]:
        """For each term, the rows of an FTS5 table that hold it (only rows of `within`, if given)."""
        batch = _Union()
        matched = self._matching_in(batch, postings, table, terms, within)
        batch.run(self.reader)
        return matched()

    def _matching_in(
        self, batch: _Union, postings: LexicalIndex | None, table: str, terms: list[str], within: list[int] | None
    ) -> Callable[[], list[frozenset[int] | Postings]]:
        """`_matching` as parts of a statement: returns what gives the answer once it has run.

        The postings arrays answer what they can; FTS5 the other terms, one `MATCH` each.
        """
        found: list[frozenset[int] | Postings] = [frozenset()] * len(terms)
        asked: dict[int, list[tuple[int, Any]]] = {}
        marks, within_ids = in_list(within or ())
        where = f" AND rowid IN ({marks})" if within is not None else ""
        for i, term in enumerate(terms):
            if postings is not None and (hit := postings.postings(term)) is not None:
                found[i] = hit if within is None else hit & within
            else:
                select = f"SELECT rowid, NULL FROM {table} WHERE {table} MATCH ?{where}"
                asked[i] = batch.add(select, [_phrase(term), *within_ids])

        def answer() -> list[frozenset[int] | Postings]:
            for i, rows in asked.items():
                found[i] = frozenset(r for r, _ in rows)
            return found

        return answer

    def term(self, word: str, name: bool = False) -> Term:
        """A key term's statistics, with a typo fallback to the closest index word."""
        return self._term(word, self.passages_with(word), name)

    def _term(self, word: str, found: frozenset[int] | Postings, name: bool) -> Term:
        """`term`, given the passages holding the word as written.

        The closest word is difflib's choice over the vocabulary, found without scoring every
        word in Python (`bot/retrieval/spelling.py`): a large index has hundreds of thousands.
        """
        searched: str | None = word
        if not found and len(word) >= FUZZY_MIN_CHARS and not word.isdigit():
            close = self.close_word(word)
            if close:
                searched = close
                found = self.passages_with(searched)
        if not found:
            searched = None
            name = name or self.derived_name(word)
        n = len(found)
        idf = math.log((self.passage_count - n + 0.5) / (n + 0.5) + 1.0)
        return Term(word, searched, found, idf, name)

    def close_word(self, word: str) -> str | None:
        """The index word an unknown word is taken to be a typo of: difflib's choice, or None."""
        return _close_words(self.reader).closest(word, FUZZY_CUTOFF)

    def derived_name(self, word: str) -> bool:
        """Whether an unknown word extends a name of the index ("iranian": the report has "Iran").

        Lower-case questions lose the capital that marks "Iranian" as a name; the index still
        knows "Iran" is one (written capitalised, never in lower case), and a word built on a name
        it knows but never used itself is a name it does not cover. Measured on the three sets
        (`docs/quality.md`): plain stems ("variable" on "vari") are excluded by the capital test.
        """
        vocab = _vocabulary_set(self.reader)
        for cut in range(max(DERIVED_NAME_MIN_STEM, len(word) - DERIVED_NAME_MAX_SUFFIX), len(word)):
            stem = word[:cut]
            if stem in vocab and self._written_as_name(stem):
                return True
        return False

    def _written_as_name(self, stem: str) -> bool:
        """The index writes this word capitalised and never in lower case.

        A large index answers from the written forms its postings keep (`bot/index/postings.py`);
        a small one scans its passages, which costs milliseconds there and a second at 1M.
        """
        if self.passage_postings is not None and (known := self.passage_postings.written_as_name(stem)) is not None:
            return known
        return self._scan_written_as_name(stem)

    def _scan_written_as_name(self, stem: str) -> bool:
        """`_written_as_name` by reading every passage's text."""
        padded = "(' ' || text || ' ')"
        rows = self.reader.query(
            f"SELECT EXISTS(SELECT 1 FROM passages WHERE {padded} GLOB ?), "
            f"EXISTS(SELECT 1 FROM passages WHERE {padded} GLOB ?)",
            (f"*[^A-Za-z]{stem.capitalize()}[^A-Za-z]*", f"*[^A-Za-z]{stem}[^A-Za-z]*"),
        )
        return bool(rows[0][0]) and not rows[0][1]

    def terms(self, question: str) -> list[Term]:
        """The question's key terms with their statistics (looked up together: one statement)."""
        names = name_terms(question)
        words = key_terms(question)
        found = self._matching(self.passage_postings, "passages_fts", words)
        return [self._term(w, f, w in names) for w, f in zip(words, found, strict=True)]

    def lookup(self, question: str, passages: int, sentences: int) -> tuple[list[Term], Hits]:
        """`terms(question)` and `search(those terms, passages, sentences)`, in one statement.

        FTS5's searches run on the words as written, alongside their lookups: a word no passage
        holds adds no row and no score to `bm25()`, so the result is `search`'s, one statement
        sooner. Only a typo that turns out to stand for another word makes it search again. The
        postings arrays need no statement: they wait for the terms and search what `search` would.
        """
        names = name_terms(question)
        words = key_terms(question)
        in_fts = (
            passages if self.passage_postings is None else 0,
            sentences if self.sentence_postings is None else 0,
        )
        batch = _Union()
        matched = self._matching_in(batch, self.passage_postings, "passages_fts", words, None)
        searched = self._search_in(batch, words, *in_fts)
        batch.run(self.reader)
        terms = [self._term(w, f, w in names) for w, f in zip(words, matched(), strict=True)]
        if any(t.searched not in (None, t.word) for t in terms):
            return terms, self.search(terms, passages, sentences)
        found = searched()
        if in_fts == (passages, sentences):
            return terms, found
        arrays = self.search(terms, passages - in_fts[0], sentences - in_fts[1])
        return terms, (found[0] if in_fts[0] else arrays[0], found[1] if in_fts[1] else arrays[1])

    def search_passages(self, terms: list[Term], limit: int) -> list[tuple[int, float]]:
        """(passage id, BM25 score; higher is better) of the passages matching any term."""
        return self.search(terms, passages=limit, sentences=0)[0]

    def search_sentences(self, terms: list[Term], limit: int) -> list[tuple[int, float]]:
        """(sentence id, BM25 score; higher is better) of the sentences matching any term."""
        return self.search(terms, passages=0, sentences=limit)[1]

    def search(self, terms: list[Term], passages: int, sentences: int) -> Hits:
        """The best `passages` passages and `sentences` sentences by BM25, (id, score) best first."""
        batch = _Union()
        searched = self._search_in(batch, [t.searched for t in terms if t.searched], passages, sentences)
        batch.run(self.reader)
        return searched()

    def _search_in(self, batch: _Union, words: list[str], passages: int, sentences: int) -> Callable[[], Hits]:
        """`search` as parts of a statement: on the postings arrays when the index has them, else in FTS5."""
        sides = (
            (self.passage_postings, "passages_fts", "bm25(passages_fts, 1.0, 0.5)", passages),
            (self.sentence_postings, "sentences_fts", "bm25(sentences_fts)", sentences),
        )
        found: list[list[tuple[int, float]]] = [[], []]
        asked: dict[int, list[tuple[int, Any]]] = {}
        for side, (postings, table, bm25, limit) in enumerate(sides):
            if not words or limit <= 0:
                continue
            if postings is not None and (hits := postings.search(words, limit)) is not None:
                found[side] = hits
                continue
            select = f"SELECT rowid, -{bm25} FROM {table} WHERE {table} MATCH ? ORDER BY {bm25} LIMIT ?"
            asked[side] = batch.add(select, [" OR ".join(_phrase(w) for w in words), limit])

        def answer() -> Hits:
            for side, rows in asked.items():
                # In the table's order already, unless SQLite merged the parts otherwise.
                found[side] = sorted(rows, key=lambda hit: -hit[1])
            return found[0], found[1]

        return answer


#: BM25 hits of passages and of sentences: (id, score), best first.
Hits = tuple[list[tuple[int, float]], list[tuple[int, float]]]


class _Union:
    """SELECTs of two columns (row id, value) run as one `UNION ALL` statement, rows kept apart.

    On a small index each statement costs as much again as its search, so a question's lookups
    and searches go to SQLite together.
    """

    #: Parts and bound values per statement (SQLite allows 500 parts in a compound SELECT and,
    #: unless built otherwise, 32,766 values).
    LIMIT = 400
    MAX_VALUES = 30_000

    def __init__(self) -> None:
        self.parts: list[tuple[str, list[object]]] = []
        self.rows: list[list[tuple[int, Any]]] = []

    def add(self, select: str, params: list[object]) -> list[tuple[int, Any]]:
        """Queue a SELECT; returns the list its rows will be in once `run` has run."""
        self.parts.append((select, params))
        self.rows.append([])
        return self.rows[-1]

    def run(self, reader: IndexReader) -> None:
        first = 0
        while first < len(self.parts):
            last, values = first, 0
            while last < len(self.parts) and last - first < self.LIMIT:
                if last > first and values + len(self.parts[last][1]) > self.MAX_VALUES:
                    break
                values += len(self.parts[last][1])
                last += 1
            chunk = self.parts[first:last]
            sql = " UNION ALL ".join(f"SELECT {first + i}, * FROM ({select})" for i, (select, _) in enumerate(chunk))
            params = [p for _, ps in chunk for p in ps]
            for part, rowid, value in reader.query(sql, params, rows=False):
                self.rows[part].append((rowid, value))
            first = last


@lru_cache(maxsize=4)
def _vocabulary(reader: IndexReader) -> list[str]:
    postings = reader.lexical_index("passages")
    if postings is not None:  # fts5vocab would count every term's rows: a scan of the whole index
        return postings.vocabulary()
    return [r[0] for r in reader.query("SELECT term FROM passages_vocab")]


@lru_cache(maxsize=4)
def _close_words(reader: IndexReader) -> CloseWords:
    return CloseWords(_vocabulary(reader))


@lru_cache(maxsize=4)
def _vocabulary_set(reader: IndexReader) -> frozenset[str]:
    return frozenset(_vocabulary(reader))


@lru_cache(maxsize=4)
def lexicon(reader: IndexReader) -> Lexicon:
    """The lexicon of a reader (one per index version)."""
    return Lexicon(reader)
