"""Is the question English? The embedding model and the index read English only.

A German or Arabic question gets back unrelated passages with "the report does not answer", and
nobody tells the user why. lingua (offline, its models inside the package) tells the language;
it is restricted to English and a handful of languages users are likely to write in, in its low
accuracy mode (trigram models only: ~50 MB and ~0.1 s on the first question, well under a
millisecond after), and built on the first question, never at start.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lingua import LanguageDetector  # lingua takes a moment to import: only when first needed

#: The languages told apart from English (lingua's names). Others are rare among users of an
#: English news bot; a question in one of them is still mostly caught by its script.
CANDIDATES = (
    "ENGLISH",
    "GERMAN",
    "FRENCH",
    "SPANISH",
    "ITALIAN",
    "PORTUGUESE",
    "DUTCH",
    "POLISH",
    "TURKISH",
    "RUSSIAN",
    "UKRAINIAN",
    "ARABIC",
    "PERSIAN",
    "HEBREW",
    "CHINESE",
    "JAPANESE",
    "KOREAN",
    "HINDI",
)
#: Confidence the detector must have in another language before a question is called non-English:
#: short English questions full of names ("Clinton email server") score low on every language.
MIN_CONFIDENCE = 0.8
_LETTERS = re.compile(r"[^\W\d_]+")
#: English function words that no candidate language writes the same way: one in a question
#: settles it (lingua's low accuracy mode calls "What model is the gun?" German).
ENGLISH_WORDS = frozenset(
    [
        "what",
        "when",
        "who",
        "whom",
        "whose",
        "how",
        "did",
        "does",
        "the",
        "which",
        "why",
        "where",
        "said",
        "say",
        "says",
        "many",
        "much",
        "are",
        "were",
        "been",
        "being",
        "this",
        "that",
        "these",
        "those",
        "there",
        "with",
        "from",
        "about",
        "into",
        "would",
        "could",
        "should",
        "their",
        "they",
        "them",
        "his",
        "her",
        "its",
        "our",
        "your",
        "has",
        "have",
        "had",
        "not",
        "any",
        "some",
        "than",
        "then",
        "after",
        "before",
        "because",
    ]
)


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    from lingua import Language, LanguageDetectorBuilder

    return (
        # getattr: lingua's Language is a compiled class, not a Python Enum with Language[name].
        LanguageDetectorBuilder.from_languages(*(getattr(Language, name) for name in CANDIDATES))
        .with_low_accuracy_mode()
        .build()
    )


def non_english(text: str, known_share: float | None = None) -> str | None:
    """The language `text` is written in when it is clearly not English (e.g. "German"), else None.

    Taken as English: a question of fewer than two words or mostly of capitalised words (names),
    one with an English function word, and one whose key terms are mostly words the (English)
    index uses (`known_share`): "zimmerman gun model" is English whatever its trigrams say.
    """
    words = _LETTERS.findall(text)
    if len(words) < 2:
        return None
    latin = all(ch.isascii() for w in words for ch in w)
    if latin and sum(1 for w in words if w[:1].isupper()) >= len(words) - 1:
        return None
    if any(w.casefold() in ENGLISH_WORDS for w in words):
        return None
    if known_share is not None and known_share > 0.5:
        return None
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    if best.language.name == "ENGLISH" or best.value < MIN_CONFIDENCE:
        return None
    return best.language.name.title()
