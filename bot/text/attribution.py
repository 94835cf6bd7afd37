"""Who said it: a speaker for every sentence, read from a dependency parse.

A sentence is attributed when it holds a *cue* outside quotation marks: a verb whose lemma the
lexicon learned from PolNeAR train lists (`bot/data/cues.json`, fitted by `scripts/learn_cues.py`:
say, tell, add, argue, tweet, warn, ...), or "according to". The *source* is read from the parse
around the cue, not from word order:

- the cue's subject (`X said`, `said X`), with its compounds, titles and modifiers; an apposition
  gives the name when the subject is a description ("The harbour master, Jane Doe, told") and
  is left out when it describes a name ("Priorities USA, the main super PAC, says");
- through the clause the cue hangs from: "X was quoted as saying", "X has denounced the deal and
  said", "X, who said", "X is expected to announce";
- the object of "according to"; the agent of a passive ("was announced by X").

Phrases that are not the subject never become the speaker, whatever their place: "at a hearing"
after the verb, "As for the proposals," before it, ", 92," or ", Republican of Iowa," beside the
name. Nouns are not cues ("compensation claims must be filed").

Across the article (`Attributor`): a pronoun or a definite description ("she said", "the
ministry said", "the spokesman added") takes the last compatible named source within a bounded
window: "he"/"she" a person of that gender (from titles, first names learned from train, and
pronouns already resolved to them), "it" an organisation, "they" a group or organisation, never
"he" a group. A quotation running over sentences and paragraphs belongs as a whole to whoever its
sentences name; cue verbs inside quotation marks are the quoted words, not a new attribution.
No source means the publisher's own words. Captions are the publisher's, with the photo credit.

This module is imported on the query path for `Speaker`: spaCy is only loaded (by `bot.text.parse`)
when an `Attributor` parses.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"
#: How many sentences back a pronoun or description looks for its antecedent.
LOOKBACK_SENTENCES = 40
#: Per paragraph, sentences past this many are the publisher's (a hostile file's one-paragraph
#: flood of reported speech must not hold the build); see also `ARTICLE_SECONDS`.
MAX_SENTENCES_PER_PARAGRAPH = 400
#: A quotation longer than this many sentences is taken for a stray quotation mark (or a
#: transcript), not one speaker's words.
MAX_QUOTE_SENTENCES = 6
#: Time budget per article: past it, the rest of the article is the publisher's words.
ARTICLE_SECONDS = 30.0
#: Sentences parsed per call, between checks of the article's time budget.
PARSE_CHUNK = 256
#: A cue verb learned with a lower precision than this is not used (fitted on train).
MIN_CUE_PRECISION = 0.1
#: Below this precision a cue verb needs a clause or quotation to be an attribution (fitted on train).
STRONG_CUE_PRECISION = 0.125
#: Below this precision a cue verb needs a subject that is a plausible source (fitted on train).
SOURCE_CHECK_PRECISION = 0.3
#: A cue in a relative clause with a subject of its own ("the things X has said") needs this precision.
RELATIVE_CUE_PRECISION = 0.3
#: A noun heading at least this many sources on train is a plausible source.
SOURCE_NOUN_MIN_COUNT = 3


@dataclass(frozen=True)
class Speaker:
    """The source a sentence is attributed to, and how the attribution was found."""

    name: str
    kind: str = "source"  # "source", "publisher" or "caption"
    via: str | None = None
    full_name: str | None = None
    rule: str = "none"
    said_as: str | None = None  # the pronoun or description, when the name was resolved from one
    #: The cue word(s) the attribution was read from (shown by `scripts/attribute.py`; not indexed).
    cue: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """How a quote's speaker line reads, e.g. `SOHR (Syrian Observatory for Human Rights)`."""
        if self.kind == "caption":
            return f"Photo caption ({self.via})" if self.via else "Photo caption"
        name = f"{self.name} ({self.full_name})" if self.full_name else self.name
        return f"{name}, via {self.via}" if self.via else name

    @property
    def is_attributed(self) -> bool:
        """True when the words are a named source's, not the publisher's own."""
        return self.kind == "source"


def publisher_voice(publisher: str | None, byline: str | None) -> str:
    """Whose words unattributed sentences are: `TRT World and agencies` for an agency byline."""
    name = publisher or byline or "the publisher"
    if byline and re.search(r"\band agencies\b", byline, re.I) and "agencies" not in name:
        return f"{name} and agencies"
    return name


# --- the learned lexicons -------------------------------------------------------------------------


@cache
def cue_verbs() -> dict[str, float]:
    """Cue verb lemma → its precision as a cue on PolNeAR train."""
    data = json.loads((DATA / "cues.json").read_text(encoding="utf-8"))
    return {lemma: v["precision"] for lemma, v in data["verbs"].items() if v["precision"] >= MIN_CUE_PRECISION}


@cache
def cue_forms() -> frozenset[str]:
    """Every surface form of a cue verb seen in train, lower-cased: a cheap test before parsing."""
    data = json.loads((DATA / "cues.json").read_text(encoding="utf-8"))
    verbs = cue_verbs()
    return frozenset(f for lemma, v in data["verbs"].items() if lemma in verbs for f in v["forms"])


@cache
def source_nouns() -> frozenset[str]:
    """Common nouns that head annotated sources on train ("official", "poll", "spokesman")."""
    data = json.loads((DATA / "cues.json").read_text(encoding="utf-8"))
    return frozenset(n for n, count in data.get("source_nouns", {}).items() if count >= SOURCE_NOUN_MIN_COUNT)


def _plausible_source(head: Any) -> bool:
    """Whether a weak cue's subject can be a source ("Delegates questioned", not "Photos showed").

    A name, an entity, a pronoun, or a noun that heads sources on train.
    """
    if head.pos_ in ("PROPN", "PRON") or head.ent_type_ in ("PERSON", "ORG", "NORP", "GPE"):
        return True
    return head.lemma_.lower() in source_nouns()


@cache
def first_names() -> dict[str, str]:
    """First name → "m" or "f", learned from train (`scripts/learn_cues.py`)."""
    names: dict[str, str] = json.loads((DATA / "first_names.json").read_text(encoding="utf-8"))["names"]
    return names


# --- quotation marks ------------------------------------------------------------------------------

_OPENERS = "([{—–-/"


def quote_mask(text: str, open_at_start: bool) -> tuple[list[bool], bool, bool]:
    """Which characters of `text` are quoted, whether a quotation is open at its end, any marks at all.

    Curly marks say which way they face. A straight mark `"` or the two-apostrophe mark `''`
    (the New York Times' closing quote) opens after a space, an opening bracket or dash, or at
    the start, and closes elsewhere; "``" always opens.
    """
    inside = open_at_start
    mask = [False] * len(text)
    any_mark = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        width = 1
        kind = None
        if ch == "“" or text.startswith("``", i):
            kind = "open"
            width = 2 if ch == "`" else 1
        elif ch == "”":
            kind = "close"
        elif ch == '"' or text.startswith("''", i):
            width = 2 if ch == "'" else 1
            before = text[i - 1] if i else " "
            after = text[i + width] if i + width < n else " "
            opens = (before.isspace() or before in _OPENERS or i == 0) and not after.isspace()
            kind = "open" if opens else "close"
        if kind is not None:
            any_mark = True
            for k in range(i, i + width):
                mask[k] = True
            inside = kind == "open"
            i += width
            continue
        mask[i] = inside
        i += 1
    return mask, inside, any_mark


# --- reading one parsed sentence ------------------------------------------------------------------

_PRONOUNS = {
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
_RELATIVE = {"who", "that", "which", "whom"}
_TITLES = {
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
_NAME_DEPS = {"compound", "amod", "det", "poss", "case", "nmod", "flat", "prep", "pobj", "cc", "conj", "quantmod"}
_NAME_DEPS |= {"nummod", "npadvmod", "hyph", "punct_inner"}
_SUBJECTS = {"nsubj", "nsubjpass", "csubj"}
#: Clauses through which a cue reaches the subject of the verb it hangs from.
_CLIMB = {"xcomp", "conj", "advcl", "pcomp", "prep", "ccomp_no"}
_VIA_NOUNS = {"comment", "remark", "statement", "interview", "post", "tweet", "broadcast", "video", "op", "column"}
_VIA_VERBS = {"publish", "carry", "broadcast", "air", "post", "quote", "run", "report"}
_NOT_SOURCE_ENTITIES = {"DATE", "TIME", "ORDINAL", "MONEY", "QUANTITY"}
_ORG_LABELS = {"ORG", "NORP", "GPE", "FAC", "PRODUCT", "WORK_OF_ART", "LOC"}


@dataclass
class Found:
    """What one sentence says about its source, before the article resolves pronouns."""

    name: str
    head: Any  # the spaCy token heading the source
    rule: str
    cue: str
    via: str | None = None
    pronoun: str | None = None  # "he", "she", "it", "they", ...
    definite: bool = False  # "the ministry", "the spokesman": a description to resolve
    kind: str = "person"  # "person", "org" or "group"
    gender: str | None = None
    roles: tuple[str, ...] = ()
    cue_token: Any = None  # the cue itself, for clause splitting


def _in_quote(token: Any, mask: list[bool]) -> bool:
    at: int = token.idx
    return at < len(mask) and mask[at]


def _subject(verb: Any) -> Any | None:
    for child in verb.children:
        if child.dep_ in _SUBJECTS:
            return child
    for child in verb.children:
        if child.dep_ == "agent":
            return next((g for g in child.children if g.dep_ == "pobj"), None)
    return None


_NP_POS = {"PROPN", "NOUN", "DET", "ADJ", "PUNCT", "PART", "NUM", "ADP", "CCONJ", "SPACE"}


def _closing_np(cue: Any) -> Any | None:
    """The noun phrase between the last comma (or closing quotation mark) and the cue.

    In "CONTENT, the Observatory (SOHR) said" the parser may take the content for the subject,
    or hang "SOHR and rebels" on the content's last noun: this phrase is then the source.
    """
    doc = cue.doc
    i = cue.i - 1
    while i >= 0 and doc[i].pos_ in _NP_POS and doc[i].text not in _TAIL_STOPS:
        i -= 1
    if i < 0 or doc[i].text not in _TAIL_STOPS or i >= cue.i - 1:
        return None
    span = doc[i + 1 : cue.i]
    heads = [t for t in span if not (span.start <= t.head.i < span.end) and t.pos_ in ("PROPN", "NOUN")]
    return heads[0] if len(heads) == 1 else None


def _closing_tokens(cue: Any, head: Any) -> list[Any]:
    """The whole phrase before the cue that `_closing_np` found ("SOHR and rebels on the ground")."""
    doc = cue.doc
    start = head.i
    while start > 0 and doc[start - 1].text not in _TAIL_STOPS:
        start -= 1
    tokens = [t for t in doc[start : cue.i] if not t.is_space]
    while tokens and (tokens[0].dep_ == "det" or tokens[0].is_punct):
        tokens = tokens[1:]
    return tokens or [head]


def _orphan_subject(cue: Any) -> Any | None:
    """The subject of a cue the parser left without one ("Col. X, a spokesman in Baghdad, said").

    The person or organisation named in the noun phrase right before the cue, found by climbing
    from the phrase's last word through appositions, conjunctions and prepositions.
    """
    doc = cue.doc
    i = cue.i - 1
    while i >= 0 and (doc[i].is_punct or doc[i].pos_ in ("ADV", "AUX", "PART", "SPACE")):
        i -= 1
    if i < 0 or doc[i].pos_ not in ("NOUN", "PROPN"):
        return None
    tok = doc[i]
    for _ in range(8):
        if tok.pos_ == "PROPN" and tok.ent_type_ in ("PERSON", "ORG"):
            return tok
        if tok.head.i == tok.i or tok.head.pos_ not in ("NOUN", "PROPN", "ADP"):
            return None
        tok = tok.head
    return None


def _source_token(cue: Any) -> tuple[Any | None, str]:
    """The token heading the cue's source and the rule that found it."""
    if cue.lower_ == "according":
        to = next((c for c in cue.children if c.lower_ == "to"), None)
        obj = next((c for c in (to or cue).children if c.dep_ == "pobj"), None)
        return obj, "according-to"
    subject = _subject(cue)
    rule = "inverted" if subject is not None and subject.i > cue.i else "subject"
    if subject is None and cue.dep_ != "conj":
        subject = _closing_np(cue)  # "..., SOHR and rebels on the ground told Reuters", misparsed
        if subject is not None:
            return subject, "closing"
    if subject is not None and subject.i < cue.i:
        closing = _closing_np(cue)
        if (
            closing is not None
            and subject.i < closing.i
            and closing.head.i != subject.i
            and any(t.i == closing.i for t in subject.subtree)
        ):
            subject = closing  # "[wave of strikes ..., the Observatory] said": the phrase before the verb
    if subject is not None and subject.dep_ == "nsubjpass" and cue.lemma_ not in ("quote", "ask", "cite"):
        agent = next((c for c in cue.children if c.dep_ == "agent"), None)
        subject = next((g for g in agent.children if g.dep_ == "pobj"), None) if agent is not None else None
        rule = "passive"
    if subject is None and any(c.dep_ == "auxpass" for c in cue.children):
        return None, "passive"  # "is yet to be confirmed": a passive cue without an agent names nobody
    verb = cue
    hops = 0
    while subject is None and verb.dep_ in _CLIMB and hops < 3:
        verb = verb.head
        hops += 1
        subject = _subject(verb) if verb.pos_ in ("VERB", "AUX") else None
        rule = "clause"
    if subject is None and cue.dep_ in ("ROOT", "ccomp"):
        orphan = _orphan_subject(cue)
        if orphan is not None:
            return orphan, "orphan"
    if subject is not None and subject.lower_ in _RELATIVE and not subject.text.isupper():
        holder = verb if verb.dep_ == "relcl" else cue
        if holder.dep_ == "relcl":
            return holder.head, "relative"
        return None, rule
    if subject is None and verb.dep_ == "relcl" and verb.head.pos_ in ("NOUN", "PROPN"):
        return verb.head, "relative"
    return subject, rule


def _name_tokens(head: Any) -> list[Any]:
    """The tokens of a source's name: the head and the modifiers that are part of it."""
    keep = [head]
    stack = [head]
    while stack:
        tok = stack.pop()
        for child in tok.children:
            glued = child.dep_ == "appos" and _glued(tok, child)
            if glued or child.dep_ in _NAME_DEPS or (child.dep_ == "punct" and child.text in "-&'’."):
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


def _glued(tok: Any, appos: Any) -> bool:
    """An apposition written without a comma is part of the name ("General Ali Ayoub")."""
    lo, hi = sorted((tok.i, appos.left_edge.i if appos.i > tok.i else appos.right_edge.i))
    return not any(t.is_punct for t in tok.doc[lo + 1 : hi]) and appos.pos_ == "PROPN"


def _same_entity(tok: Any, child: Any) -> bool:
    """Whether `child` continues the entity `tok` is in ("Committee of the Red Cross")."""
    return bool(tok.ent_type_) and child.ent_iob_ == "I" and child.i > tok.i


def _text(tokens: list[Any]) -> str:
    out = ""
    for i, tok in enumerate(tokens):
        out += tok.text
        if i + 1 < len(tokens):
            nxt = tokens[i + 1]
            out += tok.whitespace_ if nxt.i == tok.i + 1 else " "
    return " ".join(out.split())


def _entity_kind(tokens: list[Any]) -> str | None:
    labels = {t.ent_type_ for t in tokens if t.ent_type_}
    if "PERSON" in labels:
        return "person"
    if labels & _ORG_LABELS:
        return "org"
    return None


def _gender_of(tokens: list[Any]) -> str | None:
    for tok in tokens:
        gender = _TITLES.get(tok.lower_)
        if gender:
            return gender
    for tok in tokens:
        if tok.ent_type_ == "PERSON" and tok.text in first_names():
            return first_names()[tok.text]
    return None


def _appositions(head: Any) -> list[Any]:
    return [c for c in head.children if c.dep_ == "appos"]


def _describe(head: Any) -> tuple[Any, list[str]]:
    """The token that names the source, and role words ("spokesman") its appositions add."""
    roles: list[str] = []
    named = head
    for appos in _appositions(head):
        if _glued(head, appos):
            continue  # "Lieutenant General Ali Abdullah Ayoub": one name, read by _name_tokens
        if head.pos_ != "PROPN" and appos.pos_ == "PROPN":
            roles.append(head.lemma_.lower())
            named = appos
        elif appos.pos_ == "NOUN":
            roles.append(appos.lemma_.lower())
    if named.i == head.i and head.pos_ == "PROPN":
        roles += [c.lemma_.lower() for c in head.children if c.dep_ == "compound" and c.pos_ == "NOUN"]
    return named, roles


def _via(cue: Any) -> str | None:
    """The channel: "told Reuters", "in comments carried by state media", "in an interview with CNN"."""
    if cue.lemma_ == "tell":
        obj = next((c for c in cue.children if c.dep_ in ("dobj", "dative")), None)
        if obj is not None and obj.pos_ == "PROPN" and obj.ent_type_ != "PERSON":
            return _text(_name_tokens(obj))
    for prep in (c for c in cue.children if c.dep_ == "prep" and c.lower_ in ("in", "on")):
        for noun in (c for c in prep.children if c.dep_ == "pobj" and c.lemma_.lower() in _VIA_NOUNS):
            for child in noun.children:
                if child.dep_ == "acl" and child.lemma_ in _VIA_VERBS:
                    for p2 in (c for c in child.children if c.dep_ in ("prep", "agent")):
                        obj = next((g for g in p2.children if g.dep_ == "pobj"), None)
                        if obj is not None:
                            return _text(_name_tokens(obj))
                if child.dep_ == "prep" and child.lower_ == "with":
                    obj = next((g for g in child.children if g.dep_ == "pobj"), None)
                    if obj is not None and obj.pos_ == "PROPN":
                        return _text(_name_tokens(obj))
    return None


def _is_cue(tok: Any, mask: list[bool], quoted: bool) -> bool:
    if _in_quote(tok, mask):
        return False
    if tok.lower_ == "according":
        return any(c.lower_ == "to" for c in tok.children) or (
            tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].lower_ == "to"
        )
    if tok.pos_ != "VERB" or tok.lemma_.lower() not in cue_verbs():
        return False
    # A verb used as a noun phrase's modifier ("the claims filed") is not a cue.
    if tok.dep_ in ("amod", "compound", "acl") and not quoted:
        return False
    # A relative clause is a cue with a subject of its own: "X, who said", "things X has said".
    if tok.dep_ == "relcl":
        subjects = [c for c in tok.children if c.dep_ in _SUBJECTS]
        if not subjects:
            return False
        if subjects[0].lower_ not in _RELATIVE and cue_verbs()[tok.lemma_.lower()] < RELATIVE_CUE_PRECISION:
            return False  # "the war, where 350,000 Syrians have claimed asylum": no report
    # A verb that is a cue less often than not ("show", "continue", "sign") is one only when it
    # introduces a clause, a quotation, or closes the sentence as its attribution.
    if cue_verbs()[tok.lemma_.lower()] < STRONG_CUE_PRECISION:
        return quoted or _is_tail(tok) or any(c.dep_ in ("ccomp", "parataxis") for c in tok.children)
    return True


def _is_tail(tok: Any) -> bool:
    """Whether the cue is a closing attribution ("..., the Times reported on Monday.").

    Its clause runs from a comma or closing quotation mark to the end of the sentence and the
    words before it are its content, so it is the sentence's attribution whatever other verbs
    the content holds.
    """
    if any(c.dep_ == "mark" for c in tok.children):
        return False  # "..., while his rival argued": a clause of its own, not the closing attribution
    doc = tok.doc
    if any(not (t.is_punct or t.is_space) for t in doc[tok.right_edge.i + 1 :]):
        return False
    i = tok.i - 1
    while i >= 0 and doc[i].pos_ in _TAIL_POS and doc[i].text not in _TAIL_STOPS:
        i -= 1
    if i < 0 or doc[i].text not in _TAIL_STOPS or doc[i + 1].pos_ == "CCONJ":
        return False  # ", but he also warned": a clause of its own
    # The words before the comma are the content (a clause), not a fronted "On Thursday,"; the
    # source comes after it ("..., SOHR and rebels told Reuters", "..., said Mr. Garin").
    subject = _subject(tok) or _closing_np(tok)
    return subject is not None and subject.i > i and any(t.pos_ in ("VERB", "AUX") for t in doc[:i])


_TAIL_POS = {"PROPN", "NOUN", "DET", "ADJ", "CCONJ", "PART", "NUM", "PRON", "ADV", "AUX", "PUNCT", "ADP", "SPACE"}
_TAIL_STOPS = {",", '"', "”", "''", "—", "--", ":"}


def _cue_rank(tok: Any) -> tuple[int, int, float, int]:
    depth = 0
    node = tok
    while node.head.i != node.i and depth < 20:
        node = node.head
        depth += 1
    precision = 1.0 if tok.lower_ == "according" else cue_verbs().get(tok.lemma_.lower(), 0.0)
    # A closing attribution and "according to X" name the sentence's source whatever verbs its
    # content holds ("Claims must be filed by June, according to the ministry").
    first = tok.lower_ == "according" or _is_tail(tok)
    return (0 if first else 1, depth, -precision, tok.i)


def read_sentence(doc: Any, mask: list[bool], quoted: bool) -> Found | None:
    """The source one parsed sentence names (before pronoun resolution), or None."""
    return next(read_sentence_all(doc, mask, quoted), None)


def read_sentence_all(doc: Any, mask: list[bool], quoted: bool) -> Iterator[Found]:
    """Every source the sentence's cues name, best first (the article resolves pronouns in turn)."""
    cues = sorted((t for t in doc if _is_cue(t, mask, quoted)), key=_cue_rank)
    for cue in cues:
        head, rule = _source_token(cue)
        if head is None or _in_quote(head, mask) or head.pos_ in ("VERB", "AUX", "SCONJ", "ADP"):
            continue
        if head.ent_type_ in _NOT_SOURCE_ENTITIES:
            continue  # "filed by June", "said on Monday": times and numbers say nothing
        weak = cue.lower_ != "according" and cue_verbs().get(cue.lemma_.lower(), 0.0) < SOURCE_CHECK_PRECISION
        if weak and not _plausible_source(head):
            continue
        cue_text = "according to" if rule == "according-to" else cue.text
        lower = head.lower_ if not (head.text.isupper() and len(head.text) > 1) else head.text
        if lower in _PRONOUNS:
            yield Found(lower, head, rule, cue_text, via=_via(cue), pronoun=lower, cue_token=cue)
            continue
        if lower in ("this", "that", "there", "what", "which", "who", "these", "those"):
            continue
        named, roles = _describe(head)
        tokens = _closing_tokens(cue, head) if rule == "closing" else _name_tokens(named)
        name = _text(tokens)
        if not name or len(name) > 120:
            continue
        kind = _entity_kind(tokens)
        if any(t.dep_ == "cc" for t in tokens):
            kind = "group"  # "Manafort and Rick Gates": they, not he
        elif named.tag_ not in ("NNS", "NNPS") and any(
            c.dep_ == "relcl" and any(g.lower_ == "who" for g in c.children) for c in named.children
        ):
            kind = "person"  # "Leila Benali, who runs a clinic": whatever the entity recogniser says
        plural = named.tag_ in ("NNS", "NNPS")
        if kind is None:
            kind = "group" if plural else ("person" if named.pos_ == "PROPN" or _gender_of(tokens) else "org")
        elif plural and kind == "org" and named.pos_ != "PROPN":
            kind = "group"
        has_det = any(t.dep_ == "det" and t.lower_ == "the" for t in named.children)
        definite = named.pos_ == "NOUN" and has_det and not any(t.pos_ == "PROPN" for t in tokens)
        if definite and kind == "org" and named.ent_type_ == "":
            kind = "unknown"
        yield Found(
            name,
            named,
            rule,
            cue_text,
            via=_via(cue),
            definite=definite,
            kind=kind,
            gender=_gender_of(tokens) if kind in ("person", "unknown") else None,
            roles=tuple(roles),
            cue_token=cue,
        )


# --- the article --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """Where a sentence stands towards quotation marks (for `Attributor._quotations`)."""

    block: int
    index: int
    open_start: bool
    open_end: bool
    marks: bool
    first: bool
    starts_quoted: bool
    ends_colon: bool


@dataclass
class Mention:
    """A named source or person the article has introduced, for later pronouns and descriptions."""

    speaker: Speaker
    kind: str
    gender: str | None
    at: float  # when last named: the sentence number, plus a fraction for the order within it
    words: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)


_NOT_SURNAME = {t.rstrip(".") for t in _TITLES} | {
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


def _surname(name: str) -> set[str]:
    """A person's identity across mentions: the last capitalised word that is not a title."""
    words = [w.strip(".,").lower() for w in re.findall(r"[\w.'’-]+", name) if w[:1].isupper()]
    words = [w for w in words if w not in _NOT_SURNAME]
    return {words[-1]} if words else set()


_ACRONYM = re.compile(r"(?P<full>[A-Z][\w'’-]*(?:\s+(?:for|of|the|and|on|[A-Z][\w'’-]*))+)\s*\((?P<short>[A-Z]{2,8})\)")


class Attributor:
    """Attributes the sentences of one article in reading order.

    Holds what the article has said so far: acronyms it introduced ("(SOHR)"), the named sources
    and people a later pronoun or description may mean, the quotation still open and who said it.
    """

    def __init__(self, publisher: str) -> None:
        self.publisher = Speaker(publisher, kind="publisher", rule="publisher")
        self.acronyms: dict[str, str] = {}
        self.short_forms: dict[str, str] = {}
        #: (block, sentence) → [(character offset in the sentence, speaker of the clause from there)].
        self.clauses: dict[tuple[int, int], list[tuple[int, Speaker]]] = {}
        self.mentions: deque[Mention] = deque(maxlen=64)
        self.clock = 0
        self._tick = 0
        self.last_quoted: Speaker | None = None
        self.started = time.monotonic()

    # -- public interface --

    def paragraph(
        self, sentences: list[str], caption_credit: str | None = None, *, caption: bool = False
    ) -> list[Speaker]:
        """Speakers for the sentences of one paragraph (or caption)."""
        return self.article([(sentences, caption_credit, caption)])[0]

    def article(self, blocks: list[tuple[list[str], str | None, bool]]) -> list[list[Speaker]]:
        """Speakers for the sentences of several blocks (sentences, caption credit, is caption).

        All sentences are parsed in one batch; a quotation may run from one block into the next.
        """
        from bot.text.parse import nlp, parse

        # The parser's one-time load is the process's cost, not this article's: on a loaded machine
        # it took longer than the whole budget (52 s at load 10), and the first article of a build
        # went unattributed.
        loading = time.monotonic()
        nlp()
        self.started += time.monotonic() - loading
        wanted = [s for sentences, _, caption in blocks if not caption for s in sentences[:MAX_SENTENCES_PER_PARAGRAPH]]
        # Parsed in chunks while the article's time budget lasts; what is left is not parsed.
        parsed_all: list[Any] = []
        for at in range(0, len(wanted), PARSE_CHUNK):
            if time.monotonic() - self.started > ARTICLE_SECONDS:
                break
            parsed_all.extend(parse(wanted[at : at + PARSE_CHUNK]))
        docs = iter(parsed_all)
        found: list[list[Speaker | None]] = []
        flat: list[_Line] = []
        for b, (sentences, credit, caption) in enumerate(blocks):
            if caption:
                found.append([Speaker("Photo caption", kind="caption", via=credit, rule="caption") for _ in sentences])
                continue
            parsed = [d for d in (next(docs, None) for _ in sentences[:MAX_SENTENCES_PER_PARAGRAPH]) if d is not None]
            found.append(self._read_paragraph(sentences, parsed, b, flat))
        self._quotations(flat, found)
        return [[s or self.publisher for s in block] for block in found]

    def _read_paragraph(
        self, sentences: list[str], docs: list[Any], block: int, flat: list[_Line]
    ) -> list[Speaker | None]:
        found: list[Speaker | None] = []
        open_quote = False
        for i, sentence in enumerate(sentences):
            starts_quoted = sentence.lstrip()[:1] in "\"“'`"
            ends_colon = sentence.rstrip().endswith(":")
            if i >= len(docs) or time.monotonic() - self.started > ARTICLE_SECONDS:
                found.append(None)  # past the caps: the publisher's words, without parsing
                flat.append(_Line(block, i, False, False, False, i == 0, starts_quoted, ends_colon))
                continue
            mask, open_end, marks = quote_mask(sentence, open_quote)
            flat.append(_Line(block, i, open_quote, open_end, marks, i == 0, starts_quoted, ends_colon))
            self.clock += 1
            self._tick = 0
            self._note_acronyms(sentence)
            candidates = list(read_sentence_all(docs[i], mask, marks or open_quote))
            # People named as subjects may be a later "she said", and one named before a pronoun
            # in the same sentence its antecedent ("Feyisa Lilesa, who won the silver, ... he
            # says"); they are noted before the speaker, who stays the latest mention.
            pronoun_at = next((f.head.i for f in candidates if f.pronoun is not None), None)
            self._note_people(docs[i], mask, before=pronoun_at)
            speaker = None
            for f in candidates:
                speaker = self._resolve(f)
                if speaker is not None:
                    self._split_clauses(block, i, docs[i], f, candidates, speaker)
                    break
            found.append(speaker)
            open_quote = open_end
        return found

    def _split_clauses(
        self, block: int, index: int, doc: Any, chosen: Found, candidates: list[Found], speaker: Speaker
    ) -> None:
        """Record where a second source's clause starts ("X said ..., while Y argued ...").

        A later cue whose clause runs, after a comma or semicolon, from its first word to the
        sentence's end and names another source gets that part of the sentence
        (`Attributor.clauses`): each clause is quoted with its own speaker.
        """
        main = chosen.cue_token
        for other in candidates:
            cue = other.cue_token
            if other is chosen or cue is None or main is None or cue.i <= main.i:
                continue
            # A clause beside the main cue's ("..., and Cruz warned"), or hung by the parser on its
            # content's verb ("said the plan was late, while Brandt argued"), with a subject of its own.
            contrast = any(
                c.dep_ == "mark" and c.lower_ in ("while", "whereas", "although", "though") for c in cue.children
            )
            beside = cue.head.i == main.i or (contrast and cue.head.dep_ == "ccomp" and cue.head.head.i == main.i)
            if cue.dep_ not in ("advcl", "conj", "parataxis") or not beside or _is_tail(cue):
                continue
            if other.rule not in ("subject", "inverted", "passive", "according-to") or other.pronoun is not None:
                continue  # ", but he refuses": most often the same speaker, and never worth a cut
            left = cue.left_edge
            if left.i <= main.i or any(not (t.is_punct or t.is_space) for t in doc[cue.right_edge.i + 1 :]):
                continue
            if doc[left.i - 1].text not in (",", ";", "—") and doc[left.i - 1].pos_ != "CCONJ":
                continue
            second = self._resolve(other)
            if second is None or second.name == speaker.name or (_surname(second.name) & _surname(speaker.name)):
                continue
            start = doc[left.i - 1].idx if doc[left.i - 1].pos_ == "CCONJ" else left.idx
            self.clauses.setdefault((block, index), []).append((start, second))
            return

    def _quotations(self, lines: list[_Line], found: list[list[Speaker | None]]) -> None:
        """Give every sentence of a quotation its speaker, across sentences and paragraphs.

        A quotation is the run of sentences from an opening mark to its closing one; a paragraph
        that ends inside a quotation continues it when the next paragraph opens with a quotation
        mark (the news convention). Its speaker is whoever one of its sentences names; a quotation
        that names nobody goes on the source of the sentence just before it ("X released the
        following statement:"), else on whoever was quoted last. Past `MAX_QUOTE_SENTENCES` a
        quotation is cut: a stray mark must not hand a whole article to one speaker.
        """
        groups: list[list[_Line]] = []
        current: list[_Line] = []
        for line in lines:
            if current and line.first and not line.starts_quoted:
                groups.append(current)  # a new paragraph that does not continue the quotation
                current = []
            current.append(line)
            if not line.open_end or len(current) >= MAX_QUOTE_SENTENCES:
                groups.append(current)
                current = []
        if current:
            groups.append(current)
        previous: Speaker | None = None
        for group in groups:
            owner = next((found[g.block][g.index] for g in group if found[g.block][g.index] is not None), None)
            if owner is None and group[0].starts_quoted:
                # "X released the following statement:" / "X said ..." and then the quotation.
                before = previous or self.last_quoted
                owner = replace(before, rule="continued-quote") if before is not None else None
            for g in group:
                if found[g.block][g.index] is None and owner is not None:
                    found[g.block][g.index] = owner if owner.rule == "continued-quote" else replace(owner, rule="quote")
            for g in group:
                speaker = found[g.block][g.index]
                if speaker is not None and (g.marks or g.open_start or g.ends_colon):
                    self.last_quoted = speaker
            previous = found[group[-1].block][group[-1].index]

    # -- names --

    def _note_acronyms(self, sentence: str) -> None:
        for match in _ACRONYM.finditer(sentence):
            full = re.sub(r"^the\s+", "", match.group("full"), flags=re.I)
            self.acronyms[match.group("short")] = full
            # The parse names the source by its full name ("World Health Organization (WHO) said"),
            # or only its last words ("election monitor Civic Watch Network").
            words = full.split()
            for k in range(len(words)):
                self.short_forms.setdefault(" ".join(words[k:]), match.group("short"))
            for k in range(2, len(words)):
                self.short_forms.setdefault(" ".join(words[:k]), match.group("short"))

    def _note_people(self, doc: Any, mask: list[bool], before: int | None = None) -> None:
        """Note the subjects (before token `before`) a later pronoun may mean.

        People for "she said", organisations for "it said", groups and coordinated names ("Cruz
        and Trump") for "they".
        """
        for tok in doc:
            if (
                tok.dep_ not in ("nsubj", "nsubjpass")
                or _in_quote(tok, mask)
                or (before is not None and tok.i >= before)
            ):
                continue
            if tok.pos_ not in ("PROPN", "NOUN"):
                continue
            conjoined = any(c.dep_ == "conj" for c in tok.children)
            if conjoined:
                tokens = sorted(
                    [tok, *(t for c in tok.children if c.dep_ == "conj" for t in c.subtree)], key=lambda t: t.i
                )
                tokens = [t for t in tokens if not t.is_punct or t.text == "&"]
                if any(t.ent_type_ in ("PERSON", "ORG", "NORP") for t in tokens):
                    self._remember(Speaker(_text(tokens), rule="subject"), "group", None, set())
                continue
            label = tok.ent_type_
            if label == "PERSON":
                tokens = _name_tokens(tok)
                if any(t.dep_ == "cc" for t in tokens):  # "Manafort and business associate Rick Gates"
                    self._remember(Speaker(_text(tokens), rule="subject"), "group", None, set())
                else:
                    self._remember(Speaker(_text(tokens), rule="subject"), "person", _gender_of(tokens), set())
            elif label in ("ORG", "NORP") and tok.pos_ == "PROPN":
                tokens = _name_tokens(tok)
                kind = "group" if tok.tag_ == "NNPS" or label == "NORP" else "org"
                self._remember(Speaker(_text(tokens), rule="subject"), kind, None, set())

    def _now(self) -> float:
        """The current sentence's number, plus a small step per mention within it."""
        self._tick += 1
        return self.clock + self._tick / 1000

    def _remember(self, speaker: Speaker, kind: str, gender: str | None, roles: set[str]) -> Mention:
        single = len(speaker.name.split()) == 1 and speaker.name[:1].isupper()
        words = _surname(speaker.name) if kind == "person" or single else set()
        for mention in self.mentions:
            if (kind == "person" or single) and mention.kind == "person" and words and words == mention.words:
                # The same person again ("Mr. Garin" after "Geoff Garin"): keep the fuller name.
                mention.at = self._now()
                mention.gender = mention.gender or gender
                mention.roles |= roles
                return mention
        mention = Mention(speaker, kind, gender, self._now(), words, set(roles))
        self.mentions.append(mention)
        return mention

    def _antecedent(self, pronoun: str) -> Mention | None:
        want = _PRONOUNS.get(pronoun)
        for mention in sorted(self.mentions, key=lambda m: -m.at):
            if self.clock - mention.at > LOOKBACK_SENTENCES:
                break
            if want in ("m", "f", "person"):
                if mention.kind == "person" and (want == "person" or mention.gender in (None, want)):
                    return mention
            elif want == "org":
                if mention.kind in ("org", "unknown"):
                    return mention
            elif mention.kind in ("group", "org", "unknown"):
                return mention
        return None

    def _description(self, found: Found) -> Mention | None:
        """The mention a description means: "the spokesman" a person given that role, "the ministry" a body so named."""
        head = found.head.lemma_.lower()
        for mention in sorted(self.mentions, key=lambda m: -m.at):
            if self.clock - mention.at > LOOKBACK_SENTENCES:
                break
            if head in mention.roles:
                return mention
            if mention.kind != "person" and head in {w.lower() for w in mention.speaker.name.split()}:
                return mention
        return None

    def _resolve(self, found: Found | None) -> Speaker | None:
        if found is None:
            return None
        if found.pronoun is not None:
            if found.pronoun in ("i", "we") and found.rule != "relative":
                return None  # the writer's own voice in an op-ed, or a quotation's
            mention = self._antecedent(found.pronoun)
            if mention is None:
                return None
            mention.at = self._now()
            if found.pronoun in ("he", "she") and mention.gender is None:
                mention.gender = _PRONOUNS[found.pronoun]
            return replace(mention.speaker, rule="pronoun", said_as=found.pronoun, via=found.via, cue=found.cue)
        if found.definite:
            mention = self._description(found)
            if mention is not None:
                mention.at = self._now()
                return replace(mention.speaker, rule="description", said_as=found.name, via=found.via, cue=found.cue)
        name = found.name
        acronym = _ACRONYM.fullmatch(name)
        if acronym:
            name = acronym.group("short")
        words = name.split()
        short = next(
            (
                self.short_forms[" ".join(words[k:])]
                for k in range(len(words))
                if " ".join(words[k:]) in self.short_forms
            ),
            None,
        )
        if short is not None:
            name = short
        full = self.acronyms.get(name)
        speaker = Speaker(name, via=found.via, full_name=full, rule=found.rule, cue=found.cue)
        kind = "unknown" if found.kind == "unknown" else found.kind
        mention = self._remember(speaker, kind, found.gender, set(found.roles))
        if mention.speaker is not speaker and len(mention.speaker.name) > len(name):
            # A later short form ("Ricci", "Mr. Garin") as the name the article used first.
            return replace(mention.speaker, rule=found.rule, via=found.via, cue=found.cue)
        mention.speaker = speaker if mention.speaker.rule == "subject" else mention.speaker
        return speaker
