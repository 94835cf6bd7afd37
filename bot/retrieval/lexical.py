"""The lexical side of retrieval: a question's key terms, their statistics, and BM25 hits.

The index's lexical search (FTS5 with the Porter stemmer in the embedded backend) gives three
things the dense side cannot: exact names and numbers, the title/section of a passage as
searchable context, and a vocabulary, so that a key term the report never uses ("Nobel",
"French") is known to be absent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.index.memo import remembered
from bot.index.postings import Postings
from bot.index.reader import IndexReader
from bot.index.records import Hits
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
    """Key terms with their statistics and typo fallback, over one index version (one per reader).

    Which rows hold a word and how they score by BM25 is the reader's (`IndexReader.matching`,
    `bm25`, `lookup`); what a key term is, which close word a typo stands for and how telling a
    term is (IDF) is decided here, the same for every backend.
    """

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader
        self.passage_count = max(1, reader.count("passages"))
        #: Per unknown word, its close word and whether it extends a name: fixed for the version,
        #: and users repeat their typos and names (kept per word, up to `_MEMO_WORDS` of each).
        self._close: dict[str, str | None] = {}
        self._derived: dict[str, bool] = {}

    @property
    def vocabulary(self) -> Sequence[str]:
        """Every (stemmed) term of the passages, for typo matching."""
        return self.reader.vocabulary()

    def passages_with(self, term: str) -> frozenset[int] | Postings:
        """Ids of the passages whose text or context holds `term` (after stemming)."""
        return self.reader.matching("passages", [term])[0]

    def sentences_holding_each(self, terms: list[str], sentence_ids: list[int]) -> list[frozenset[int] | Postings]:
        """For each term, which of these sentences hold it (after stemming); each is iterated, no more."""
        return self.reader.matching("sentences", terms, sentence_ids)

    def term(self, word: str, name: bool = False) -> Term:
        """A key term's statistics, with a typo fallback to the closest index word."""
        return self._terms([word], [self.passages_with(word)], {word} if name else set())[0]

    def _terms(self, words: list[str], found: Sequence[frozenset[int] | Postings], names: set[str]) -> list[Term]:
        """The key terms, given the passages holding each word as written.

        An unknown word stands for its closest index word, difflib's choice over the vocabulary,
        found without scoring every word in Python (`bot/retrieval/spelling.py`): a large index
        has hundreds of thousands. The close words of all of them are looked up at once.
        """
        closes = {
            w: remembered(self._close, w, self.close_word, _MEMO_WORDS)
            for w, f in zip(words, found, strict=True)
            if not f and len(w) >= FUZZY_MIN_CHARS and not w.isdigit()
        }
        wanted = list(dict.fromkeys(c for c in closes.values() if c))
        held = dict(zip(wanted, self.reader.matching("passages", wanted), strict=True)) if wanted else {}
        terms = []
        for word, rows in zip(words, found, strict=True):
            searched: str | None = word
            close = closes.get(word)
            if close:
                searched, rows = close, held[close]
            name = word in names
            if not rows:
                searched = None
                name = name or remembered(self._derived, word, self.derived_name, _MEMO_WORDS)
            n = len(rows)
            idf = math.log((self.passage_count - n + 0.5) / (n + 0.5) + 1.0)
            terms.append(Term(word, searched, rows, idf, name))
        return terms

    def close_word(self, word: str) -> str | None:
        """The index word an unknown word is taken to be a typo of: difflib's choice, or None."""
        reader = self.reader
        return reader.memo("close-words", lambda: CloseWords(reader.vocabulary())).closest(word, FUZZY_CUTOFF)

    def derived_name(self, word: str) -> bool:
        """Whether an unknown word extends a name of the index ("iranian": the report has "Iran").

        Lower-case questions lose the capital that marks "Iranian" as a name; the index still
        knows "Iran" is one (written capitalised, never in lower case), and a word built on a name
        it knows but never used itself is a name it does not cover. Measured on the three sets
        (`docs/quality.md`): plain stems ("variable" on "vari") are excluded by the capital test.
        """
        reader = self.reader
        vocab = reader.memo("vocabulary-set", lambda: frozenset(reader.vocabulary()))
        for cut in range(max(DERIVED_NAME_MIN_STEM, len(word) - DERIVED_NAME_MAX_SUFFIX), len(word)):
            stem = word[:cut]
            if stem in vocab and reader.written_as_name(stem):
                return True
        return False

    def terms(self, question: str) -> list[Term]:
        """The question's key terms with their statistics (looked up together: one statement)."""
        words = key_terms(question)
        return self._terms(words, self.reader.matching("passages", words), name_terms(question))

    def lookup(self, question: str, passages: int, sentences: int) -> tuple[list[Term], Hits]:
        """`terms(question)` and `search(those terms, passages, sentences)`, at once.

        The reader searches the words as written alongside their lookups (`IndexReader.lookup`):
        a word no passage holds adds nothing to BM25, so the result is `search`'s, one round trip
        sooner. Only a typo that turns out to stand for another word makes it search again.
        """
        words = key_terms(question)
        matched, found = self.reader.lookup(words, passages, sentences)
        terms = self._terms(words, matched, name_terms(question))
        if any(t.searched not in (None, t.word) for t in terms):
            return terms, self.search(terms, passages, sentences)
        return terms, found

    def search(self, terms: list[Term], passages: int, sentences: int) -> Hits:
        """The best `passages` passages and `sentences` sentences by BM25, (id, score) best first."""
        return self.reader.bm25([t.searched for t in terms if t.searched], passages, sentences)


#: Unknown words whose close word (and derived-name test) a lexicon keeps; then it starts afresh.
_MEMO_WORDS = 10_000


def lexicon(reader: IndexReader) -> Lexicon:
    """The lexicon of a reader: one per index version, kept by the reader (`IndexReader.memo`)."""
    return reader.memo("lexicon", lambda: Lexicon(reader))
