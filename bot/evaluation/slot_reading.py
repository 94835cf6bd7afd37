"""What one parsed sentence offers a generated question (`slot_pairs`): counts, dated events, topics.

Read from the spaCy parse as `bot/text/slots.py` reads the index's answer slots (which noun a number
counts, which verb it hangs from, whether that verb is a goal, which verb a date modifies), plus what
a question needs to ask for them in the sentence's own words: the subject, the verb's form as the
sentence has it (nothing is inflected), a goal's verb of intention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.text.slots import REPORTING_VERBS, irrealis

#: Verbs too generic to make a slot: "How many people were there?" is not an event.
LIGHT_VERBS = frozenset({"be", "have", "do", "get", "make", "go", "come", "take", "give", "include", "become"})
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
PRONOUNS = frozenset(
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


def _verb_of(token: Any) -> Any:
    """The verb a token hangs from (itself if it is one), as `bot.text.slots` climbs."""
    t = token
    while t.pos_ not in ("VERB", "AUX") and t.head.i != t.i:
        t = t.head
    return t


def _phrase(token: Any, max_words: int = 6) -> str | None:
    """A subject's words (its subtree without a relative clause or apposition), or None if unusable."""
    if token.lower_ in PRONOUNS or token.pos_ == "PRON":
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


def content_verbs(doc: Any) -> list[Any]:
    """The verbs of a sentence that can stand for an event (not "be", "have", nor a reporting verb)."""
    return [t for t in doc if t.pos_ == "VERB" and t.lemma_.lower() not in LIGHT_VERBS | REPORTING_VERBS]


@dataclass(frozen=True)
class Count:
    """A count a "how many" question can ask for, and the words to ask it with."""

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


def counts(doc: Any) -> list[Count]:
    """The counts of a sentence that a "how many" question can ask for, with how to ask.

    A number counting a plural noun ("Seven firefighters", "40 of the soldiers") that is the subject,
    passive subject or object of a content verb. The template's verb form is the sentence's own
    (a participle for "were <vbn>", the past for "<vbd>", the lemma after "did"): nothing is inflected.
    """
    out: list[Count] = []
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
        if verb.pos_ != "VERB" or verb.lemma_.lower() in LIGHT_VERBS | REPORTING_VERBS:
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
            Count(_noun_phrase(noun), lemma, verb.lemma_.lower(), form, surface, subject, goal, modal, intent, plural)
        )
    return out


@dataclass(frozen=True)
class Dated:
    """An event a "when" question can ask for, and whether the sentence's date is the event's or the report's."""

    verb: str  # lemma
    form: str  # past (did <subject> <lemma>), future (will <subject> <lemma>), passive (was <subject> <vbn>)
    surface: str
    subject: str
    reporting: bool  # the date is the report's ("said on Monday"): the question asks the reported clause
    be: str = "was"  # "were" for a plural passive subject


def dated_events(doc: Any) -> list[Dated]:
    """Events of a sentence that a "when" question can ask for, and whether the sentence dates them.

    A date on a reporting verb ("The council said on Monday that the bridge needs repairs") dates
    the report: the reported clause's event is returned with `reporting` set, a near miss for
    "When does the bridge need repairs?".
    """
    out: list[Dated] = []
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
                if clause.i in dated_verbs or clause.lemma_.lower() in LIGHT_VERBS | REPORTING_VERBS:
                    continue
                event = _event(clause, reporting=True)
                if event:
                    out.append(event)
        elif lemma not in LIGHT_VERBS:
            event = _event(verb, reporting=False)
            if event:
                out.append(event)
    return out


def _event(verb: Any, reporting: bool) -> Dated | None:
    subj = _subject(verb)
    if subj is None or subj.like_num or subj.ent_type_ in ("DATE", "TIME", "CARDINAL"):
        return None
    subject = _phrase(subj)
    if not subject:
        return None
    aux = _aux(verb)
    if subj.dep_ == "nsubjpass" and verb.tag_ == "VBN":
        be = "were" if subj.tag_ in ("NNS", "NNPS") else "was"
        return Dated(verb.lemma_.lower(), "passive", verb.lower_, subject, reporting, be)
    if any(a in ("will", "would") for a in aux):
        return Dated(verb.lemma_.lower(), "future", verb.lemma_.lower(), subject, reporting)
    if verb.tag_ in ("VBD", "VBN"):
        return Dated(verb.lemma_.lower(), "past", verb.lemma_.lower(), subject, reporting)
    return None


def topics(doc: Any, speaker: str) -> list[str]:
    """Noun phrases of a sentence a "What did X say about T?" question can name (not the speaker's)."""
    said = {w.lower() for w in speaker.split()}
    out = []
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ not in ("NOUN", "PROPN") or root.lower_ in PRONOUNS or root.ent_type_ in ("DATE", "TIME"):
            continue
        words = [t for t in chunk if t.dep_ not in ("det", "poss", "nummod") and not t.like_num]
        if not words or len(words) > 4 or any(t.lower_ in said for t in words):
            continue
        text = " ".join(t.text for t in words)
        if len(text) > 3 and re.fullmatch(r"[A-Za-z][A-Za-z' -]*[A-Za-z]", text) and root.lower_ not in _VAGUE:
            out.append(text if root.pos_ == "PROPN" or words[0].pos_ == "PROPN" else text.lower())
    return out
