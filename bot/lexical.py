"""The lexical side of retrieval: question key terms and SQLite FTS5 BM25 over the index.

The FTS5 tables live in `store.sqlite` beside the passages and sentences they index (kept in step
by triggers, see `bot/store.py`), use the Porter stemmer, and give three things the dense side
cannot: exact names and numbers, the title/section of a passage as searchable context, and a
vocabulary, so that a key term the report never uses ("Nobel", "French") is known to be absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.lexical_index import LexicalIndex, Postings
from bot.spelling import CloseWords
from bot.store import IndexReader

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
        word = re.sub(r"['’]s$", "", match.group().casefold()).replace("’", "'")
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
            names.add(re.sub(r"['’]s$", "", word.casefold()).replace("’", "'"))
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
    (`bot/lexical_index.py`): then term lookups and BM25 run on them, with FTS5's tokens and
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
        if self.passage_postings is not None:
            found = self.passage_postings.postings(term)
            if found is not None:
                return found
        rows = self.reader.query("SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?", (_phrase(term),))
        return frozenset(r[0] for r in rows)

    def sentences_holding(self, term: str, sentence_ids: list[int]) -> set[int]:
        """Which of these sentences hold `term` (after stemming)."""
        if self.sentence_postings is not None:
            found = self.sentence_postings.postings(term)
            if found is not None:
                return set(found & sentence_ids)
        marks = ",".join("?" * len(sentence_ids))
        rows = self.reader.query(
            f"SELECT rowid FROM sentences_fts WHERE sentences_fts MATCH ? AND rowid IN ({marks})",
            [_phrase(term), *sentence_ids],
        )
        return {r[0] for r in rows}

    def term(self, word: str, name: bool = False) -> Term:
        """A key term's statistics, with a typo fallback to the closest index word.

        The closest word is difflib's choice over the vocabulary, found without scoring every
        word in Python (`bot/spelling.py`): a large index has hundreds of thousands.
        """
        import math

        found = self.passages_with(word)
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

        A large index answers from the written forms its postings keep (`bot/lexical_index.py`);
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
        """The question's key terms with their statistics."""
        names = name_terms(question)
        return [self.term(w, w in names) for w in key_terms(question)]

    def search_passages(self, terms: list[Term], limit: int) -> list[tuple[int, float]]:
        """(passage id, BM25 score; higher is better) of the passages matching any term."""
        return self._search(self.passage_postings, "passages_fts", "1.0, 0.5", terms, limit)

    def search_sentences(self, terms: list[Term], limit: int) -> list[tuple[int, float]]:
        """(sentence id, BM25 score; higher is better) of the sentences matching any term."""
        return self._search(self.sentence_postings, "sentences_fts", "", terms, limit)

    def _search(
        self, postings: LexicalIndex | None, table: str, weights: str, terms: list[Term], limit: int
    ) -> list[tuple[int, float]]:
        """BM25 over one FTS5 table: on its postings arrays when the index has them, else in SQLite."""
        words = [t.searched for t in terms if t.searched]
        if postings is not None and (found := postings.search(words, limit)) is not None:
            return found
        query = " OR ".join(_phrase(w) for w in words)
        if not query:
            return []
        bm25 = f"bm25({table}, {weights})" if weights else f"bm25({table})"
        rows = self.reader.query(
            f"SELECT rowid, -{bm25} AS score FROM {table} WHERE {table} MATCH ? ORDER BY {bm25} LIMIT ?",
            (query, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]


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
