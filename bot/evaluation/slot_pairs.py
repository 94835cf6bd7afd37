"""Weakly supervised (question, sentence, label) pairs for pre-training the answer-slot check (issue 19).

Why: the slot check (`bot/retrieval/slot_check.py`) is fine-tuned on ~2,300 human pairs from 45
PolNeAR train articles, and what it must learn is fine-grained: "How many firefighters were
killed?" is not answered by "Seven firefighters were treated", nor "How many children were
vaccinated?" by "aims to vaccinate 1.2 million children", nor "When will repairs begin?" by "the
council said on Monday". The parse already reads which noun a number counts, which verb it hangs
from, whether that verb is a goal (`bot/text/slots.py`) and which verb a date modifies; PolNeAR's
gold attributions give each sentence's speaker. So, from train articles that no labelled question
uses, this module writes questions whose slot the sentence fills (positives) and, over the *same*
sentence, questions with one slot swapped (hard negatives):

- counts: "How many <noun> were <participle>?" / "How many <noun> did <subject> <verb>?" /
  "How many <noun> <past verb>?"; negatives swap the verb (another verb of the article), the
  counted noun (another counted noun of the article), ask a done count over a goal ("aims to",
  "plans to", "could"), or pair the question with another sentence of the article counting
  something for another event;
- dates: "When did <subject> <verb>?"; negatives ask for the event of a clause whose date belongs
  to the reporting verb ("said on Monday that ..."), swap the verb, or pair the question with a
  sentence dating another event;
- speakers: "What did <source> say about <topic>?"; negatives ask another source of the article,
  or pair the question with the publisher's own sentence about the topic.

Every question is rendered by one of several templates (full and terse forms), and a negative uses
the same template as its positive, so the label cannot be read off the question's form.
Generation is deterministic (choices by a hash of the article and sentence, no global random
state) so that a cached file can be checked against its inputs. The query path never imports this.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.text.sentences import sentence_spans
from bot.text.slots import REPORTING_VERBS, irrealis

#: Bumped whenever the pairs change for the same articles: the cache key includes it.
GENERATOR_VERSION = 1
#: Items (one positive each, with its negatives) kept per article and kind: the 795 unused train
#: articles then give several thousand pairs without one long article dominating. Counts are rarer
#: in political news than quotes, and they are the issue's near misses: more of them are kept.
ITEMS_PER_ARTICLE = {"count": 6, "date": 3, "say": 2}

#: Verbs too generic to make a slot: "How many people were there?" is not an event.
_LIGHT_VERBS = frozenset({"be", "have", "do", "get", "make", "go", "come", "take", "give", "include", "become"})
#: Counted nouns that are units or measures, not things counted ("three years", "20 percent").
_UNITS = frozenset(
    [
        "year",
        "month",
        "week",
        "day",
        "hour",
        "minute",
        "second",
        "time",
        "percent",
        "point",
        "dollar",
        "cent",
        "mile",
        "kilometer",
        "foot",
        "inch",
        "pound",
        "ton",
        "degree",
        "acre",
        "million",
        "billion",
        "thousand",
        "hundred",
        "dozen",
        "number",
        "lot",
        "page",
    ]
)
_PRONOUNS = frozenset(
    [
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "me",
        "him",
        "her",
        "us",
        "them",
        "this",
        "that",
        "these",
        "those",
        "who",
        "which",
        "one",
    ]
)
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
_ORG_WORDS = frozenset(
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
#: Topics too vague for "What did X say about T?": any sentence would be "about" them.
_VAGUE = frozenset(
    [
        "year",
        "years",
        "time",
        "times",
        "part",
        "way",
        "thing",
        "things",
        "people",
        "lot",
        "today",
        "day",
        "week",
        "month",
    ]
)
#: A date that names a point in time (a weekday, a month, a year, "yesterday", "last week"), not a
#: duration ("three years"): only those answer "when".
_POINT_DATE = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|jan\.|feb\.|aug\.|sept?\.|oct\.|nov\.|dec\.|yesterday|today|"
    r"tomorrow|tonight|(?:18|19|20)\d\d|(?:last|next|this|earlier this|later this) (?:week|month|year|spring|"
    r"summer|fall|autumn|winter|weekend))\b",
    re.I,
)


@dataclass(frozen=True)
class Pair:
    """One training pair: `label` 1.0 when `sentence` fills the slot `question` asks for."""

    question: str
    sentence: str
    label: float
    kind: str  # count, date, say (the slot)
    why: str  # positive, verb_swap, noun_swap, goal, reporting_date, other_sentence, other_speaker, unattributed
    article: str


@dataclass
class _Sentence:
    text: str
    doc: Any
    speaker: str | None = None
    lemmas: frozenset[str] = field(default_factory=frozenset)


# --- reading an article ---------------------------------------------------------------------------


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
    if not run or len(run) > 4 or name.lower() in _PRONOUNS or not re.fullmatch(r"[A-Z][\w.'’ -]*", " ".join(run)):
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


# --- small helpers on the parse ---------------------------------------------------------------------


def _pick(options: Sequence[Any], *key: object) -> Any:
    """A deterministic choice: the same key picks the same option in every run."""
    digest = hashlib.sha256(json.dumps([str(k) for k in key]).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _verb_of(token: Any) -> Any:
    """The verb a token hangs from (itself if it is one), as `bot.text.slots` climbs."""
    t = token
    while t.pos_ not in ("VERB", "AUX") and t.head.i != t.i:
        t = t.head
    return t


def _phrase(token: Any, max_words: int = 6) -> str | None:
    """A subject's words (its subtree without a relative clause or apposition), or None if unusable."""
    if token.lower_ in _PRONOUNS or token.pos_ == "PRON":
        return None
    cut = {
        t.i
        for c in token.children
        if c.dep_ in ("relcl", "acl", "appos", "punct", "prep", "cc", "conj", "nummod")
        for t in c.subtree
    }
    words = [t.text for t in token.subtree if t.i not in cut]
    if not words or len(words) > max_words:
        return None
    text = " ".join(words).replace(" 's", "'s").replace(" ,", ",")
    if words[0].lower() in ("the", "a", "an") and token.pos_ == "PROPN":
        return text
    return text[0].lower() + text[1:] if words[0] in ("The", "A", "An") else text


def _noun_phrase(noun: Any) -> str:
    """A counted noun with its compounds and adjectives ("coal workers", "Syrian refugees"), no number."""
    mods = [
        c
        for c in noun.children
        if c.i < noun.i and c.dep_ in ("compound", "amod") and not c.like_num and c.ent_type_ not in ("CARDINAL",)
    ]
    words = [t.text for t in sorted(mods, key=lambda t: t.i)] + [noun.text]
    return " ".join(words).lower() if noun.pos_ != "PROPN" else " ".join(words)


def _subject(verb: Any) -> Any | None:
    return next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)


def _aux(verb: Any) -> list[str]:
    return [c.lower_ for c in verb.children if c.dep_ in ("aux", "auxpass")]


def _content_verbs(doc: Any) -> list[Any]:
    return [t for t in doc if t.pos_ == "VERB" and t.lemma_.lower() not in _LIGHT_VERBS | REPORTING_VERBS]


# --- the slots, read from one sentence ------------------------------------------------------------


@dataclass(frozen=True)
class _Count:
    noun: str  # the phrase a question asks about
    noun_lemma: str
    verb: str  # the verb's lemma
    form: str  # passive (were <vbn>), object (did <subject> <lemma>), intransitive (<vbd>)
    surface: str  # the verb as the template needs it: vbn, lemma or vbd
    subject: str | None
    goal: bool  # the count is a goal, plan, forecast or possibility
    modal: str | None  # "could", "will": how an irrealis positive asks
    intent: str | None = None  # "aim" in "aims to vaccinate": how a goal's positive asks
    plural_subject: bool = False


def counts(doc: Any) -> list[_Count]:
    """The counts of a sentence that a "how many" question can ask for, with how to ask.

    A number counting a plural noun ("Seven firefighters", "40 of the soldiers") that is the subject,
    passive subject or object of a content verb. The template's verb form is the sentence's own
    (a participle for "were <vbn>", the past for "<vbd>", the lemma after "did"): nothing is inflected.
    """
    out: list[_Count] = []
    if doc.text.rstrip().endswith("?"):
        return out
    for tok in doc:
        if not tok.like_num or tok.ent_type_ in ("DATE", "TIME", "MONEY", "PERCENT", "ORDINAL"):
            continue
        if tok.dep_ == "nummod":
            noun, role_token = tok.head, tok.head
        elif tok.dep_ in ("nsubj", "nsubjpass", "dobj"):  # "40 of the soldiers were killed"
            of = next((c for c in tok.children if c.dep_ == "prep" and c.lower_ == "of"), None)
            obj = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
            if obj is None:
                continue
            noun, role_token = obj, tok
        else:
            continue
        if noun.pos_ != "NOUN" or noun.tag_ != "NNS" or noun.lemma_.lower() in _UNITS:
            continue
        verb = role_token.head
        if verb.pos_ != "VERB" or verb.lemma_.lower() in _LIGHT_VERBS | REPORTING_VERBS:
            continue
        aux = _aux(verb)
        modal = next((a for a in aux if a in ("will", "would", "could", "may", "might", "can")), None)
        goal = irrealis(verb)
        subj = _subject(verb)
        intent = None
        if verb.dep_ == "xcomp" and verb.head.pos_ == "VERB":  # "the campaign aims to vaccinate ..."
            intent = verb.head.lemma_.lower()
            subj = subj or _subject(verb.head)
        subject = None
        if subj is not None and subj.i != role_token.i and subj.ent_type_ not in ("DATE", "TIME") and not subj.like_num:
            subject = _phrase(subj) or (subj.lower_ if subj.lower_ in ("they", "he", "she", "it", "we") else None)
        role = role_token.dep_
        if role == "nsubjpass" and verb.tag_ == "VBN":
            form, surface = "passive", verb.lower_
        elif role == "dobj" and verb.tag_ == "VBN" and {"have", "has", "had"} & set(aux) and not goal:
            form, surface = "passive", verb.lower_  # "they have hired 50 workers": "were hired"
        elif role == "dobj" and subject:
            form, surface = "object", verb.lemma_.lower()
        elif (
            role == "nsubj"
            and verb.tag_ == "VBD"
            and not any(c.dep_ in ("dobj", "ccomp", "xcomp") for c in verb.children)
        ):
            form, surface = "intransitive", verb.lower_
        else:
            continue
        lemma = noun.lemma_.lower()
        plural = subj is not None and subj.tag_ in ("NNS", "NNPS")
        out.append(
            _Count(_noun_phrase(noun), lemma, verb.lemma_.lower(), form, surface, subject, goal, modal, intent, plural)
        )
    return out


@dataclass(frozen=True)
class _Dated:
    verb: str  # lemma
    form: str  # past (did <subject> <lemma>), future (will <subject> <lemma>), passive (was <subject> <vbn>)
    surface: str
    subject: str
    reporting: bool  # the date is the report's ("said on Monday"): the question asks the reported clause
    be: str = "was"  # "were" for a plural passive subject


def dated_events(doc: Any) -> list[_Dated]:
    """Events of a sentence that a "when" question can ask for, and whether the sentence dates them.

    A date on a reporting verb ("The council said on Monday that the bridge needs repairs") dates
    the report: the reported clause's event is returned with `reporting` set, a near miss for
    "When does the bridge need repairs?".
    """
    out: list[_Dated] = []
    if doc.text.rstrip().endswith("?"):
        return out
    dated_verbs: set[int] = set()
    for ent in doc.ents:
        if ent.label_ not in ("DATE", "TIME") or not _POINT_DATE.search(ent.text):
            continue
        verb = _verb_of(ent.root.head)
        if verb.pos_ == "VERB":
            dated_verbs.add(verb.i)
    for i in sorted(dated_verbs):
        verb = doc[i]
        lemma = verb.lemma_.lower()
        if lemma in REPORTING_VERBS:
            for clause in (c for c in verb.children if c.dep_ == "ccomp" and c.pos_ == "VERB"):
                if clause.i in dated_verbs or clause.lemma_.lower() in _LIGHT_VERBS | REPORTING_VERBS:
                    continue
                event = _event(clause, reporting=True)
                if event:
                    out.append(event)
        elif lemma not in _LIGHT_VERBS:
            event = _event(verb, reporting=False)
            if event:
                out.append(event)
    return out


def _event(verb: Any, reporting: bool) -> _Dated | None:
    subj = _subject(verb)
    if subj is None or subj.like_num or subj.ent_type_ in ("DATE", "TIME", "CARDINAL"):
        return None
    subject = _phrase(subj)
    if not subject:
        return None
    aux = _aux(verb)
    if subj.dep_ == "nsubjpass" and verb.tag_ == "VBN":
        be = "were" if subj.tag_ in ("NNS", "NNPS") else "was"
        return _Dated(verb.lemma_.lower(), "passive", verb.lower_, subject, reporting, be)
    if any(a in ("will", "would") for a in aux):
        return _Dated(verb.lemma_.lower(), "future", verb.lemma_.lower(), subject, reporting)
    if verb.tag_ in ("VBD", "VBN"):
        return _Dated(verb.lemma_.lower(), "past", verb.lemma_.lower(), subject, reporting)
    return None


def topics(doc: Any, speaker: str) -> list[str]:
    """Noun phrases of a sentence a "What did X say about T?" question can name (not the speaker's)."""
    said = {w.lower() for w in speaker.split()}
    out = []
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ not in ("NOUN", "PROPN") or root.lower_ in _PRONOUNS or root.ent_type_ in ("DATE", "TIME"):
            continue
        words = [t for t in chunk if t.dep_ not in ("det", "poss", "nummod") and not t.like_num]
        if not words or len(words) > 4 or any(t.lower_ in said for t in words):
            continue
        text = " ".join(t.text for t in words)
        if len(text) > 3 and re.fullmatch(r"[A-Za-z][A-Za-z' -]*[A-Za-z]", text) and root.lower_ not in _VAGUE:
            out.append(text if root.pos_ == "PROPN" or words[0].pos_ == "PROPN" else text.lower())
    return out


# --- templates: a positive and its negatives share one --------------------------------------------

_COUNT_TEMPLATES: dict[str, list[Callable[[str, str, str], str]]] = {
    "passive": [
        lambda n, v, s: f"How many {n} were {v}?",
        lambda n, v, s: f"How many {n} have been {v}?",
        lambda n, v, s: f"how many {n} {v}",
        lambda n, v, s: f"number of {n} {v}",
        lambda n, v, s: f"What was the number of {n} {v}?",
        lambda n, v, s: f"{n} {v}?",
    ],
    "object": [
        lambda n, v, s: f"How many {n} did {s} {v}?",
        lambda n, v, s: f"how many {n} did {s} {v}",
        lambda n, v, s: f"What number of {n} did {s} {v}?",
        lambda n, v, s: f"{s} {v} how many {n}",
    ],
    "intransitive": [
        lambda n, v, s: f"How many {n} {v}?",
        lambda n, v, s: f"how many {n} {v}",
        lambda n, v, s: f"number of {n} who {v}",
        lambda n, v, s: f"What number of {n} {v}?",
    ],
}
#: Asking for a goal as a goal: "How many children does the campaign aim to vaccinate?" (positive).
_GOAL_TEMPLATES: dict[str, list[Callable[[str, str, str, str], str]]] = {
    "passive": [lambda n, v, s, m: f"How many {n} {m} be {v}?", lambda n, v, s, m: f"how many {n} {m} be {v}"],
    "object": [lambda n, v, s, m: f"How many {n} {m} {s} {v}?", lambda n, v, s, m: f"how many {n} {m} {s} {v}"],
    "intransitive": [],
}
_DATE_TEMPLATES: dict[str, list[Callable[[str, str], str]]] = {
    "past": [
        lambda s, v: f"When did {s} {v}?",
        lambda s, v: f"when did {s} {v}",
        lambda s, v: f"On what date did {s} {v}?",
    ],
    "future": [
        lambda s, v: f"When will {s} {v}?",
        lambda s, v: f"when will {s} {v}",
        lambda s, v: f"By when will {s} {v}?",
    ],
    "passive": [
        lambda s, v: f"When BE {s} {v}?",
        lambda s, v: f"when BE {s} {v}",
        lambda s, v: f"date {s} {v}",
    ],
}
_SAY_TEMPLATES: list[Callable[[str, str], str]] = [
    lambda x, t: f"What did {x} say about {t}?",
    lambda x, t: f"what did {x} say about {t}",
    lambda x, t: f"What has {x} said on {t}?",
    lambda x, t: f"{x} on {t}",
    lambda x, t: f"What does {x} think about {t}?",
    lambda x, t: f"{x}'s comments about {t}",
]


def _goal_question(c: _Count, key: tuple[object, ...]) -> str | None:
    """A goal asked as a goal ("How many children does the campaign aim to vaccinate?"), or None."""
    if c.form == "object" and c.intent and c.subject:
        does = "do" if c.plural_subject or c.subject in ("they", "we") else "does"
        return str(
            _pick(
                [
                    f"How many {c.noun} {does} {c.subject} {c.intent} to {c.surface}?",
                    f"how many {c.noun} {does} {c.subject} {c.intent} to {c.surface}",
                ],
                *key,
            )
        )
    if c.modal and _GOAL_TEMPLATES[c.form]:
        return str(_pick(_GOAL_TEMPLATES[c.form], *key)(c.noun, c.surface, c.subject or "", c.modal))
    return None


def _render_count(c: _Count, key: tuple[object, ...], noun: str | None = None, verb: str | None = None) -> str:
    template = _pick(_COUNT_TEMPLATES[c.form], *key)
    return str(template(noun or c.noun, verb or c.surface, c.subject or ""))


# --- one article ----------------------------------------------------------------------------------


def article_pairs(stem: str, sentences: list[tuple[str, Any, str | None, bool]]) -> list[Pair]:
    """The pairs of one article: (text, parse, named speaker or None, attributed at all) per sentence."""
    sents = [
        _Sentence(text, doc, speaker, frozenset(t.lemma_.lower() for t in doc)) for text, doc, speaker, _ in sentences
    ]
    said = [a for _, _, _, a in sentences]
    pairs: list[Pair] = []
    pairs += _count_pairs(stem, sents)
    pairs += _date_pairs(stem, sents)
    pairs += _say_pairs(stem, sents, said)
    return pairs


def _verb_pools(sents: list[_Sentence]) -> dict[str, list[str]]:
    """The article's content verbs in each surface form a template needs (no inflection is guessed)."""
    pools: dict[str, set[str]] = {"vbn": set(), "lemma": set(), "vbd": set()}
    for s in sents:
        for t in _content_verbs(s.doc):
            pools["lemma"].add(t.lemma_.lower())
            if t.tag_ == "VBN":
                pools["vbn"].add(t.lower_)
            if t.tag_ == "VBD":
                pools["vbd"].add(t.lower_)
    return {k: sorted(v) for k, v in pools.items()}


def _lemma_of_surface(sents: list[_Sentence]) -> dict[str, str]:
    return {t.lower_: t.lemma_.lower() for s in sents for t in _content_verbs(s.doc)}


def _events_first(verbs: list[str], events: set[str], lemma_of: dict[str, str]) -> list[str]:
    """The verbs of counted or dated events of the article if any ("killed" for "treated"), else all."""
    return [v for v in verbs if lemma_of.get(v, v) in events] or verbs


def _event_lemmas(sents: list[_Sentence]) -> set[str]:
    return {c.verb for s in sents for c in counts(s.doc)} | {d.verb for s in sents for d in dated_events(s.doc)}


def _count_pairs(stem: str, sents: list[_Sentence]) -> list[Pair]:
    found = [(i, c) for i, s in enumerate(sents) for c in counts(s.doc)]
    if not found:
        return []
    events = _event_lemmas(sents)
    pools = _verb_pools(sents)
    lemma_of = _lemma_of_surface(sents)
    pool_key = {"passive": "vbn", "object": "lemma", "intransitive": "vbd"}
    nouns = sorted({(c.noun, c.noun_lemma) for _, c in found})
    pairs: list[Pair] = []
    chosen = sorted(found, key=lambda ic: hashlib.sha256(f"{stem}|{ic[0]}|{ic[1]}".encode()).hexdigest())
    for i, c in chosen[: ITEMS_PER_ARTICLE["count"]]:
        s = sents[i]
        key = (stem, i, c.noun, c.verb)
        if c.goal:
            # A done count asked over a goal: the near miss the slots' irrealis flag names.
            if c.form == "object" or c.form == "passive":
                pairs.append(Pair(_render_count(c, key), s.text, 0.0, "count", "goal", stem))
            asked = _goal_question(c, key)
            if asked:
                pairs.append(Pair(asked, s.text, 1.0, "count", "positive", stem))
            continue
        question = _render_count(c, key)
        pairs.append(Pair(question, s.text, 1.0, "count", "positive", stem))
        others = [v for v in pools[pool_key[c.form]] if lemma_of.get(v, v) not in s.lemmas and v != c.surface]
        if others:
            verb = _pick(_events_first(others, events, lemma_of), *key, "verb")
            pairs.append(Pair(_render_count(c, key, verb=verb), s.text, 0.0, "count", "verb_swap", stem))
        other_nouns = [n for n, lemma in nouns if lemma not in s.lemmas and n != c.noun]
        if other_nouns:
            noun = _pick(other_nouns, *key, "noun")
            pairs.append(Pair(_render_count(c, key, noun=noun), s.text, 0.0, "count", "noun_swap", stem))
        # The same question over another sentence of the article that counts something for another
        # event: the asked noun for another verb first ("four Americans killed" for "wounded").
        elsewhere = [
            (j, d)
            for j, d in found
            if j != i
            and c.verb not in sents[j].lemmas
            and (d.noun_lemma == c.noun_lemma or c.noun_lemma not in sents[j].lemmas)
        ]
        same_noun = [jd for jd in elsewhere if jd[1].noun_lemma == c.noun_lemma]
        if same_noun or elsewhere:
            j, _ = _pick(same_noun or elsewhere, *key, "sentence")
            pairs.append(Pair(question, sents[j].text, 0.0, "count", "other_sentence", stem))
    return pairs


def _date_pairs(stem: str, sents: list[_Sentence]) -> list[Pair]:
    found = [(i, d) for i, s in enumerate(sents) for d in dated_events(s.doc)]
    if not found:
        return []
    events = _event_lemmas(sents)
    pools = _verb_pools(sents)
    lemma_of = _lemma_of_surface(sents)
    pairs: list[Pair] = []
    chosen = sorted(found, key=lambda ie: hashlib.sha256(f"{stem}|{ie[0]}|{ie[1]}".encode()).hexdigest())
    dated_sentences = {i for i, d in found if not d.reporting}
    for i, d in chosen[: ITEMS_PER_ARTICLE["date"]]:
        s = sents[i]
        key = (stem, i, d.verb, d.subject)
        template = _pick(_DATE_TEMPLATES[d.form], *key)
        question = str(template(d.subject, d.surface)).replace("BE", d.be)
        if d.reporting:
            # "The council said on Monday that the bridge needs repairs": the date is the report's.
            pairs.append(Pair(question, s.text, 0.0, "date", "reporting_date", stem))
            continue
        pairs.append(Pair(question, s.text, 1.0, "date", "positive", stem))
        pool = pools["vbn" if d.form == "passive" else "lemma"]
        others = [v for v in pool if lemma_of.get(v, v) not in s.lemmas and v != d.surface]
        if others:
            swapped = str(template(d.subject, _pick(_events_first(others, events, lemma_of), *key, "verb"))).replace(
                "BE", d.be
            )
            pairs.append(Pair(swapped, s.text, 0.0, "date", "verb_swap", stem))
        elsewhere = [j for j in sorted(dated_sentences) if j != i and d.verb not in sents[j].lemmas]
        if elsewhere:
            pairs.append(
                Pair(question, sents[_pick(elsewhere, *key, "sentence")].text, 0.0, "date", "other_sentence", stem)
            )
    return pairs


def _say_pairs(stem: str, sents: list[_Sentence], said: list[bool]) -> list[Pair]:
    speakers = sorted({s.speaker for s in sents if s.speaker})
    candidates = [(i, s) for i, s in enumerate(sents) if s.speaker and topics(s.doc, s.speaker)]
    pairs: list[Pair] = []
    chosen = sorted(candidates, key=lambda i_s: hashlib.sha256(f"{stem}|{i_s[0]}".encode()).hexdigest())
    for i, s in chosen[: ITEMS_PER_ARTICLE["say"]]:
        assert s.speaker is not None
        key = (stem, i, s.speaker)
        topic = _pick(topics(s.doc, s.speaker), *key, "topic")
        parts = s.speaker.split()
        person = 2 <= len(parts) <= 3 and parts[-1].lower() not in _ORG_WORDS
        name = parts[-1] if person and _pick([True, False], *key, "surname") else s.speaker
        template = _pick(_SAY_TEMPLATES, *key)
        pairs.append(Pair(template(name, topic), s.text, 1.0, "say", "positive", stem))
        words = {w.lower() for w in s.text.split()}
        others = [
            y
            for y in speakers
            if y != s.speaker
            and not ({w.lower() for w in y.split()} & ({w.lower() for w in s.speaker.split()} | words))
        ]
        if others:
            other = _pick(others, *key, "other")
            pairs.append(Pair(template(other, topic), s.text, 0.0, "say", "other_speaker", stem))
        # The publisher's own sentence about the topic: the topic is there, the speaker's words are not.
        head = topic.split()[-1].lower()
        own = [j for j, t in enumerate(sents) if not said[j] and head in t.text.lower() and j != i]
        if own:
            pairs.append(
                Pair(template(name, topic), sents[_pick(own, *key, "own")].text, 0.0, "say", "unattributed", stem)
            )
    return pairs


# --- the whole set --------------------------------------------------------------------------------


def used_articles(question_files: Iterable[Path]) -> set[str]:
    """Every article a labelled question names: the generator never reads those."""
    used: set[str] = set()
    for path in question_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                used.add(json.loads(line)["article"])
    return used


def generate(
    corpus: Path, gold_file: Path, exclude: set[str], log: Callable[[str], None] = lambda _: None
) -> list[Pair]:
    """Pairs from every article of `corpus` not in `exclude`, in a fixed order."""
    from bot.corpus.normalise import body_of
    from bot.text.parse import parse

    gold: dict[str, list[dict[str, Any]]] = {}
    for line in gold_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            gold.setdefault(row["article"], []).append(row)
    stems = sorted(p.stem for p in corpus.glob("*.md") if p.stem not in exclude)
    pairs: list[Pair] = []
    for n, stem in enumerate(stems):
        body = body_of((corpus / f"{stem}.md").read_text(encoding="utf-8"))
        spans = article_sentences(body)
        rows = gold.get(stem, [])
        speakers = speakers_by_sentence(spans, rows)
        said = attributed(spans, rows)
        docs = parse([text for _, _, text in spans])
        pairs += article_pairs(
            stem, [(t, doc, sp, a) for (_, _, t), doc, sp, a in zip(spans, docs, speakers, said, strict=True)]
        )
        if (n + 1) % 100 == 0:
            log(f"{n + 1}/{len(stems)} articles, {len(pairs)} pairs")
    return pairs


def cache_key(corpus: Path, gold_file: Path, exclude: set[str]) -> str:
    """What the cached pairs depend on: the generator's version, the articles read and their gold."""
    h = hashlib.sha256(f"v{GENERATOR_VERSION}".encode())
    h.update(gold_file.read_bytes())
    for path in sorted(corpus.glob("*.md")):
        if path.stem not in exclude:
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cached_pairs(
    corpus: Path, gold_file: Path, exclude: set[str], cache: Path, log: Callable[[str], None] = lambda _: None
) -> tuple[list[Pair], Path]:
    """The pairs, from `cache/slot-pairs-<key>.jsonl` when generated before, else generated and written there."""
    path = cache / f"slot-pairs-{cache_key(corpus, gold_file, exclude)}.jsonl"
    if path.is_file():
        return [
            Pair(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ], path
    pairs = generate(corpus, gold_file, exclude, log)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(p.__dict__, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    tmp.replace(path)
    return pairs, path
