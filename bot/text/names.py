"""A source's name from the parse: the tokens of a noun phrase, its kind, gender and "via" channel.

Used by the sentence reader (`bot/text/clauses.py`) and the attributor's memory of who was named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.text.cues import first_names
from bot.text.speaker import Speaker


def name_tokens(head: Any) -> list[Any]:
    """The tokens of a source's name: the head and the modifiers that are part of it."""
    keep = [head]
    stack = [head]
    while stack:
        tok = stack.pop()
        for child in tok.children:
            glued = child.dep_ == "appos" and _glued(tok, child)
            if glued or child.dep_ in NAME_DEPS or (child.dep_ == "punct" and child.text in "-&'’."):
                # "the spokesman for X" keeps its phrase; a name's own phrase ("Sanders of
                # Vermont") is dropped: it describes an already named person.
                if child.dep_ == "prep" and tok.pos_ == "PROPN" and not _same_entity(tok, child):
                    continue
                if child.dep_ in ("nummod", "npadvmod") and child.i > tok.i:
                    continue
                keep.append(child)
                stack.append(child)
    keep.sort(key=lambda t: t.i)
    # Only the contiguous run around the head: commas cut off anything else.
    run = [head]
    for tok in reversed([t for t in keep if t.i < head.i]):
        if run[0].i - tok.i > 1 and any(t.text == "," for t in head.doc[tok.i + 1 : run[0].i]):
            break
        run.insert(0, tok)
    for tok in [t for t in keep if t.i > head.i]:
        if tok.i - run[-1].i > 1 and any(t.text == "," for t in head.doc[run[-1].i + 1 : tok.i]):
            break
        run.append(tok)
    while run and (run[0].dep_ in ("det", "cc", "case", "punct") or run[0].lower_ in ("and", "but")):
        run = run[1:]
    while run and (run[-1].dep_ in ("cc", "punct", "prep", "case") or run[-1].is_punct):
        run = run[:-1]
    return run or [head]


PRONOUNS = {
    "he": "m",
    "she": "f",
    "it": "org",
    "they": "group",
    "we": "group",
    "i": "person",
    "him": "m",
    "her": "f",
    "them": "group",
}
TITLES = {
    "mr": "m",
    "mr.": "m",
    "mrs": "f",
    "mrs.": "f",
    "ms": "f",
    "ms.": "f",
    "miss": "f",
    "sir": "m",
    "lady": "f",
    "congressman": "m",
    "congresswoman": "f",
    "spokesman": "m",
    "spokeswoman": "f",
    "chairman": "m",
    "chairwoman": "f",
    "businessman": "m",
    "businesswoman": "f",
}
#: Children that belong to a source's name; appositions, relative clauses and the like do not.
NAME_DEPS = {"compound", "amod", "det", "poss", "case", "nmod", "flat", "prep", "pobj", "cc", "conj", "quantmod"}
VIA_NOUNS = {"comment", "remark", "statement", "interview", "post", "tweet", "broadcast", "video", "op", "column"}
VIA_VERBS = {"publish", "carry", "broadcast", "air", "post", "quote", "run", "report"}
ORG_LABELS = {"ORG", "NORP", "GPE", "FAC", "PRODUCT", "WORK_OF_ART", "LOC"}


def _glued(tok: Any, appos: Any) -> bool:
    """An apposition written without a comma is part of the name ("General Ali Ayoub")."""
    lo, hi = sorted((tok.i, appos.left_edge.i if appos.i > tok.i else appos.right_edge.i))
    return not any(t.is_punct for t in tok.doc[lo + 1 : hi]) and appos.pos_ == "PROPN"


def _same_entity(tok: Any, child: Any) -> bool:
    """Whether `child` continues the entity `tok` is in ("Committee of the Red Cross")."""
    return bool(tok.ent_type_) and child.ent_iob_ == "I" and child.i > tok.i


def phrase_text(tokens: list[Any]) -> str:
    """The tokens' words, with the sentence's own spacing between neighbours and one space across gaps."""
    out = ""
    for i, tok in enumerate(tokens):
        out += tok.text
        if i + 1 < len(tokens):
            nxt = tokens[i + 1]
            out += tok.whitespace_ if nxt.i == tok.i + 1 else " "
    return " ".join(out.split())


def entity_kind(tokens: list[Any]) -> str | None:
    """The kind of name the tokens' entity labels give: "person", "org", or None."""
    labels = {t.ent_type_ for t in tokens if t.ent_type_}
    if "PERSON" in labels:
        return "person"
    if labels & ORG_LABELS:
        return "org"
    return None


def gender_of(tokens: list[Any]) -> str | None:
    """The gender a title or a first name learned from train gives ("m" or "f"), or None."""
    for tok in tokens:
        gender = TITLES.get(tok.lower_)
        if gender:
            return gender
    for tok in tokens:
        if tok.ent_type_ == "PERSON" and tok.text in first_names():
            return first_names()[tok.text]
    return None


def _appositions(head: Any) -> list[Any]:
    return [c for c in head.children if c.dep_ == "appos"]


def describe_head(head: Any) -> tuple[Any, list[str]]:
    """The token that names the source, and role words ("spokesman") its appositions add."""
    roles: list[str] = []
    named = head
    for appos in _appositions(head):
        if _glued(head, appos):
            continue  # "Lieutenant General Ali Abdullah Ayoub": one name, read by name_tokens
        if head.pos_ != "PROPN" and appos.pos_ == "PROPN":
            roles.append(head.lemma_.lower())
            named = appos
        elif appos.pos_ == "NOUN":
            roles.append(appos.lemma_.lower())
    if named.i == head.i and head.pos_ == "PROPN":
        roles += [c.lemma_.lower() for c in head.children if c.dep_ == "compound" and c.pos_ == "NOUN"]
    return named, roles


def via_of(cue: Any) -> str | None:
    """The channel: "told Reuters", "in comments carried by state media", "in an interview with CNN"."""
    if cue.lemma_ == "tell":
        obj = next((c for c in cue.children if c.dep_ in ("dobj", "dative")), None)
        if obj is not None and obj.pos_ == "PROPN" and obj.ent_type_ != "PERSON":
            return phrase_text(name_tokens(obj))
    for prep in (c for c in cue.children if c.dep_ == "prep" and c.lower_ in ("in", "on")):
        for noun in (c for c in prep.children if c.dep_ == "pobj" and c.lemma_.lower() in VIA_NOUNS):
            for child in noun.children:
                if child.dep_ == "acl" and child.lemma_ in VIA_VERBS:
                    for p2 in (c for c in child.children if c.dep_ in ("prep", "agent")):
                        obj = next((g for g in p2.children if g.dep_ == "pobj"), None)
                        if obj is not None:
                            return phrase_text(name_tokens(obj))
                if child.dep_ == "prep" and child.lower_ == "with":
                    obj = next((g for g in child.children if g.dep_ == "pobj"), None)
                    if obj is not None and obj.pos_ == "PROPN":
                        return phrase_text(name_tokens(obj))
    return None


@dataclass
class Mention:
    """A named source or person the article has introduced, for later pronouns and descriptions."""

    speaker: Speaker
    kind: str
    gender: str | None
    at: float  # when last named: the sentence number, plus a fraction for the order within it
    words: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)


_NOT_SURNAME = {t.rstrip(".") for t in TITLES} | {
    "sen",
    "senator",
    "rep",
    "gov",
    "governor",
    "president",
    "dr",
    "gen",
    "general",
    "jr",
    "sr",
    "ii",
    "iii",
}


def surnames(name: str) -> set[str]:
    """A person's identity across mentions: the last capitalised word that is not a title."""
    words = [w.strip(".,").lower() for w in re.findall(r"[\w.'’-]+", name) if w[:1].isupper()]
    words = [w for w in words if w not in _NOT_SURNAME]
    return {words[-1]} if words else set()


ACRONYM = re.compile(r"(?P<full>[A-Z][\w'’-]*(?:\s+(?:for|of|the|and|on|[A-Z][\w'’-]*))+)\s*\((?P<short>[A-Z]{2,8})\)")
