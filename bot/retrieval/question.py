"""What a question asks, read without a parser: its kind, the asked noun or speaker, its words.

The decision (`decision.py`) and the "What did X say?" ranking (`speaker_rank.py`) both weigh a
passage against this reading, so it lives apart from either. Regular expressions and stemming
only: nothing is loaded to answer, so the cold start stays near a second.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.fuzz import ratio  # at import time: a first import from several threads at once races

_QUANTITY = re.compile(
    r"\b(?:how (?:many|much|long|old|far|big|large|high|tall|often)|number of|death toll|toll|percentage|"
    r"what (?:percent|share|proportion|fraction)|how (?:much|many) (?:more|less|fewer))\b",
    re.I,
)
_DURATION = re.compile(r"\bhow (?:long|old|often|soon)\b|\bage\b", re.I)
_WHEN = re.compile(r"^\s*(?:when|by when|until when|since when)\b|\bwhat (?:time|date|day|year|month)\b", re.I)
_WHO = re.compile(r"^\s*(?:who|whom|whose|which (?:person|official|group|company|candidate|senator))\b", re.I)
_WHERE = re.compile(r"^\s*(?:where|in which (?:city|country|state|place))\b", re.I)
_WHY_HOW = re.compile(r"^\s*(?:why|how)\b", re.I)
_YES_NO = re.compile(r"^\s*(?:is|are|was|were|did|does|do|will|would|has|have|had|can|could|should)\b", re.I)
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
_SAY_VERBS = (
    r"say|said|says|tell|told|tweet|tweeted|write|wrote|announce|announced|claim|claimed|add|added|think|"
    r"argue|argued|post|posted|call|called|predict|predicted|promise|promised|warn|warned|mean|describe|"
    r"described|respond|responded|reply|replied|suggest|suggested|report|reported|comment|commented|"
    r"admit|admitted|deny|denied|believe|believes|accuse|accused|urge|urged|insist|insisted|explain|explained"
)
_SAY = re.compile(
    rf"\bwhat (?:did|does|do|has|have|had|was|is|were|will) (?P<x>.+?) (?:also |ever |actually |then |later |just )?"
    rf"(?:{_SAY_VERBS})\b"
    rf"|\b(?P<y>[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)*)(?:'s|’s) (?:comments?|remarks?|statement|view|position|response)\b",
    re.I,
)
_WHO_SAID = re.compile(rf"^\s*who (?:{_SAY_VERBS}|was quoted|is quoted)\b", re.I)
STOP_AFTER_COUNT = frozenset(
    [
        "are",
        "were",
        "is",
        "was",
        "did",
        "do",
        "does",
        "have",
        "has",
        "had",
        "will",
        "would",
        "could",
        "can",
        "should",
        "been",
        "be",
        "being",
        "in",
        "of",
        "on",
        "at",
        "by",
        "from",
        "to",
        "for",
        "with",
        "that",
        "who",
        "which",
        "than",
        "per",
        "a",
        "an",
        "the",
        "this",
    ]
)
_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "sen",
        "senator",
        "rep",
        "representative",
        "gov",
        "governor",
        "president",
        "pres",
        "gen",
        "general",
        "the",
        "a",
        "an",
        "former",
        "secretary",
        "minister",
        "spokesman",
        "spokeswoman",
        "spokesperson",
    ]
)
_NAME_GLUE = frozenset({"of", "for", "and", "on", "in", "at", "to", "'s", "’s"})


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A light stem, so that "staffers" meets "staffer" and "died" meets "die"."""
    w = word.casefold().strip(".,;:!?'’\"()")
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("es", "e"), ("s", ""), ("ed", ""), ("ing", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)] + repl
    return w


def same_word(a: str, b: str) -> bool:
    """Two words are the same word, up to inflection ("soldiers"/"soldier", "begins"/"begin")."""
    return same_stem(stem(a), stem(b))


def same_stem(a: str, b: str) -> bool:
    """`same_word` of two words already stemmed (`stem`).

    The decision compares each word of a quote's slots with each of the question's, after the
    search: the question's side stemmed once beside the encode spares two stems a pair.
    """
    if not a or not b:
        return False
    return a == b or (min(len(a), len(b)) >= 4 and (a.startswith(b) or b.startswith(a)))


@dataclass(frozen=True)
class QuestionShape:
    """What kind of answer a question asks for, read from its words alone."""

    kind: str
    #: For "how many X": the counted noun X ("soldiers"), if the question names one.
    asked_noun: str | None
    #: For "What did X say?": X, as written.
    asked_speaker: str | None
    #: The question's words (lower case), for matching slot verbs and nouns.
    words: tuple[str, ...]
    terse: bool
    #: The question as asked.
    original: str = ""
    #: A "how long / how old / how often" question: a duration or date answers it as a number does.
    duration: bool = False


def analyse(question: str) -> QuestionShape:
    """The question's kind (quantity, when, who, who_said, say, where, why_how, yes_no, terse, what)."""
    words = tuple(w.casefold() for w in re.findall(r"[\w’']+", question))
    speaker = None
    say = _SAY.search(question)
    if say:
        speaker = (say.group("x") or say.group("y") or "").strip() or None
    asked_noun = None
    if _QUANTITY.search(question):
        kind = "quantity"
        m = re.search(r"\bhow (?:many|much)\s+(?P<rest>.+)$", question, re.I) or re.search(
            r"\bnumber of\s+(?P<rest>.+)$", question, re.I
        )
        if m:
            noun_phrase: list[str] = []
            for w in re.findall(r"[\w’'-]+", m.group("rest")):
                lw = w.casefold()
                if lw in STOP_AFTER_COUNT or (noun_phrase and lw.endswith("ed")):
                    break
                noun_phrase.append(lw)
            asked_noun = noun_phrase[-1] if noun_phrase else None
    elif _WHO_SAID.search(question):
        kind = "who_said"
    elif speaker:
        kind = "say"
    elif _WHEN.search(question):
        kind = "when"
    elif _WHO.search(question):
        kind = "who"
    elif _WHERE.search(question):
        kind = "where"
    elif _WHY_HOW.search(question):
        kind = "why_how"
    elif _YES_NO.search(question):
        kind = "yes_no"
    elif not _WH.search(question) and len(words) <= 4:
        kind = "terse"
    else:
        kind = "what"
    terse = len(words) <= 4 and not _WH.search(question)
    duration = bool(_DURATION.search(question))
    return QuestionShape(kind, asked_noun, speaker, words, terse=terse, original=question, duration=duration)


KINDS = ("quantity", "when", "who", "who_said", "say", "where", "why_how", "yes_no", "terse", "what")


@lru_cache(maxsize=8192)
def speaker_words(name: str | None) -> frozenset[str]:
    """The telling words of a speaker's name, stemmed, without titles ("Sen. Grassley" -> {"grassley"}).

    Kept for the process (names repeat: every candidate's speakers, after the encode).
    """
    return frozenset(
        {
            stem(w)
            for w in re.findall(r"[\w’'-]+", name or "")
            if w.casefold() not in _TITLES and w.casefold() not in _NAME_GLUE and len(w) > 1
        }
    )


def names_meet(wanted: AbstractSet[str], said: AbstractSet[str]) -> bool:
    """Whether two names are one: most words of the shorter shared, a typo allowed in a long one.

    One shared word is not enough when both names have several: "SOHR (Syrian Observatory for
    Human Rights)" and "Syrian regime armed forces chief of staff" share only "Syrian", and "John
    Smith" is not "John Doe". A surname alone still meets the full name ("Grassley", "Sen. Chuck
    Grassley"), and "Grassly" meets "Grassley".
    """
    if not wanted or not said:
        return False

    def met(word: str) -> bool:
        return word in said or (len(word) >= 5 and any(len(b) >= 5 and ratio(word, b) >= 85 for b in said))

    shared = sum(1 for word in wanted if met(word))
    return 2 * shared > min(len(wanted), len(said))
