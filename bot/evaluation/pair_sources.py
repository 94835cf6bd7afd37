"""Who says what in a PolNeAR train article, for the generated "What did X say?" pairs (`slot_pairs`).

The speakers are PolNeAR's gold attributions, not the index's own attribution: they are what the
annotators marked, and reading them costs no parse. Only speech cues count (beliefs and intentions
are attributions too, but a "What did X say?" question asks for words said), and a source is named
as a question would name it: its trailing capitalised words, without titles or descriptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from bot.evaluation.slot_reading import PRONOUNS
from bot.text.sentences import sentence_spans

_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "sen",
        "rep",
        "gov",
        "pres",
        "president",
        "senator",
        "gen",
        "sgt",
        "lt",
        "col",
        "capt",
        "prof",
        "rev",
    ]
)
#: Descriptions before a name in a gold source ("Author Roger Stone", "GOP frontrunner Donald Trump"):
#: only the name's trailing capitalised words are kept, without these.
_ROLES = frozenset(
    [
        "author",
        "reporter",
        "editor",
        "host",
        "chairman",
        "chairwoman",
        "chair",
        "secretary",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "candidate",
        "frontrunner",
        "director",
        "governor",
        "mayor",
        "leader",
        "professor",
        "judge",
        "attorney",
        "general",
        "minister",
        "congressman",
        "congresswoman",
        "presidential",
        "republican",
        "democrat",
        "democratic",
        "executive",
        "chief",
        "former",
        "vice",
        "press",
        "analyst",
        "pollster",
        "strategist",
        "founder",
        "ceo",
        "commissioner",
        "sheriff",
        "officer",
        "justice",
        "speaker",
    ]
)
#: Gold cues of speech: beliefs and intentions ("voters believe") are PolNeAR attributions too, but a
#: "What did X say?" question asks for words said.
_SPEECH_CUE = re.compile(
    r"\b(said|says|say|saying|told|tell|tells|added|adds|according|announced|wrote|writes|tweeted|argued|argues|"
    r"stated|explained|noted|warned|claimed|claims|insisted|asked|called|declared|replied|testified|acknowledged|"
    r"admitted|denied|suggested|recalled|urged|praised|criticized|criticised|described|responded|predicted)\b",
    re.I,
)
#: Last words of organisations' names: "News" alone does not name Breitbart News as "Grassley" names him.
ORG_WORDS = frozenset(
    [
        "news",
        "post",
        "times",
        "journal",
        "party",
        "committee",
        "department",
        "house",
        "office",
        "council",
        "association",
        "campaign",
        "press",
        "network",
        "inc",
        "group",
        "center",
        "centre",
        "institute",
        "university",
        "agency",
        "court",
        "board",
        "service",
        "foundation",
    ]
)


def article_sentences(body: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each body sentence, offsets into `body` (as PolNeAR's gold counts them).

    Paragraphs are split on blank lines and each cut into sentences as the index cuts them
    (`sentence_spans`); the text is whitespace-folded. Headings and one-word lines are left out.
    """
    out: list[tuple[int, int, str]] = []
    for match in re.finditer(r"(?:[^\n]|\n(?!\s*\n))+", body):
        para = match.group(0)
        if para.lstrip().startswith(("#", "!", "---")):
            continue
        for span in sentence_spans(para):
            text = " ".join(para[span.start : span.end].split())
            if len(text.split()) >= 5:
                out.append((match.start() + span.start, match.start() + span.end, text))
    return out


def clean_source(source: str | None) -> str | None:
    """A gold source as a question would name it, or None for a pronoun, a description or a long phrase.

    "Sen. Charles Grassley, R-Iowa" → "Charles Grassley"; "a campaign spokesman" → None (a question
    naming it would not pick out one speaker).
    """
    if not source:
        return None
    name = re.split(r",| of | for | at | from | with |\(", source)[0].strip().strip("\"'“”‘’")
    words = name.split()
    run: list[str] = []
    for w in reversed(words):  # the trailing run of capitalised words: the name itself
        if not w[:1].isupper() or w.lower().strip(".") in _TITLES | _ROLES:
            break
        run.insert(0, w)
    if not run or len(run) > 4 or name.lower() in PRONOUNS or not re.fullmatch(r"[A-Z][\w.'’ -]*", " ".join(run)):
        return None
    if run[0].lower() in ("this", "that", "the", "a", "an", "these", "those"):
        return None
    return " ".join(run)


def speakers_by_sentence(sentences: Sequence[tuple[int, int, str]], gold: Iterable[dict[str, Any]]) -> list[str | None]:
    """The named gold source whose content covers most of each sentence's characters, or None."""
    cover: list[dict[str, int]] = [{} for _ in sentences]
    for row in gold:
        if not _SPEECH_CUE.search(row.get("cue") or ""):
            continue
        name = None if row.get("source_is_pronoun") else clean_source(row.get("source"))
        if name is None:
            continue
        for start, end in row.get("content_spans") or [[row["content_start"], row["content_end"]]]:
            for i, (s, e, _) in enumerate(sentences):
                overlap = min(e, end) - max(s, start)
                if overlap > 0:
                    cover[i][name] = cover[i].get(name, 0) + overlap
    return [max(c, key=lambda k: c[k]) if c and max(c.values()) >= 20 else None for c in cover]


def attributed(sentences: Sequence[tuple[int, int, str]], gold: Iterable[dict[str, Any]]) -> list[bool]:
    """Whether any gold attribution (pronoun sources too) holds part of each sentence."""
    spans = [sp for row in gold for sp in (row.get("content_spans") or [[row["content_start"], row["content_end"]]])]
    return [any(min(e, end) > max(s, start) for start, end in spans) for s, e, _ in sentences]
