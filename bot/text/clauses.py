"""Reading one sentence: its attribution cue and the source the parse gives that cue.

`read_sentence` finds the cue (a learned cue verb outside quotation marks, or "according to")
and reads the source from the parse around it, never from word order (`bot/text/attribution.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.text.cues import (
    RELATIVE_CUE_PRECISION,
    SOURCE_CHECK_PRECISION,
    STRONG_CUE_PRECISION,
    cue_verbs,
    plausible_source,
)
from bot.text.names import NAME_DEPS, PRONOUNS, describe_head, entity_kind, gender_of, name_tokens, phrase_text, via_of

# --- reading one parsed sentence ------------------------------------------------------------------

_RELATIVE = {"who", "that", "which", "whom"}
NAME_DEPS |= {"nummod", "npadvmod", "hyph", "punct_inner"}
_SUBJECTS = {"nsubj", "nsubjpass", "csubj"}
#: Clauses through which a cue reaches the subject of the verb it hangs from.
_CLIMB = {"xcomp", "conj", "advcl", "pcomp", "prep", "ccomp_no"}
_NOT_SOURCE_ENTITIES = {"DATE", "TIME", "ORDINAL", "MONEY", "QUANTITY"}


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


def in_quote(token: Any, mask: list[bool]) -> bool:
    """Whether a token stands inside quotation marks (`mask`: the sentence's quoted characters)."""
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


def _is_cue(tok: Any, mask: list[bool], quoted: bool) -> bool:
    if in_quote(tok, mask):
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
        return quoted or is_tail(tok) or any(c.dep_ in ("ccomp", "parataxis") for c in tok.children)
    return True


def is_tail(tok: Any) -> bool:
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
    first = tok.lower_ == "according" or is_tail(tok)
    return (0 if first else 1, depth, -precision, tok.i)


def read_sentence(doc: Any, mask: list[bool], quoted: bool) -> Found | None:
    """The source one parsed sentence names (before pronoun resolution), or None."""
    return next(read_sentence_all(doc, mask, quoted), None)


def read_sentence_all(doc: Any, mask: list[bool], quoted: bool) -> Iterator[Found]:
    """Every source the sentence's cues name, best first (the article resolves pronouns in turn)."""
    cues = sorted((t for t in doc if _is_cue(t, mask, quoted)), key=_cue_rank)
    for cue in cues:
        head, rule = _source_token(cue)
        if head is None or in_quote(head, mask) or head.pos_ in ("VERB", "AUX", "SCONJ", "ADP"):
            continue
        if head.ent_type_ in _NOT_SOURCE_ENTITIES:
            continue  # "filed by June", "said on Monday": times and numbers say nothing
        weak = cue.lower_ != "according" and cue_verbs().get(cue.lemma_.lower(), 0.0) < SOURCE_CHECK_PRECISION
        if weak and not plausible_source(head):
            continue
        cue_text = "according to" if rule == "according-to" else cue.text
        lower = head.lower_ if not (head.text.isupper() and len(head.text) > 1) else head.text
        if lower in PRONOUNS:
            yield Found(lower, head, rule, cue_text, via=via_of(cue), pronoun=lower, cue_token=cue)
            continue
        if lower in ("this", "that", "there", "what", "which", "who", "these", "those"):
            continue
        named, roles = describe_head(head)
        tokens = _closing_tokens(cue, head) if rule == "closing" else name_tokens(named)
        name = phrase_text(tokens)
        if not name or len(name) > 120:
            continue
        kind = entity_kind(tokens)
        if any(t.dep_ == "cc" for t in tokens):
            kind = "group"  # "Manafort and Rick Gates": they, not he
        elif named.tag_ not in ("NNS", "NNPS") and any(
            c.dep_ == "relcl" and any(g.lower_ == "who" for g in c.children) for c in named.children
        ):
            kind = "person"  # "Leila Benali, who runs a clinic": whatever the entity recogniser says
        plural = named.tag_ in ("NNS", "NNPS")
        if kind is None:
            kind = "group" if plural else ("person" if named.pos_ == "PROPN" or gender_of(tokens) else "org")
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
            via=via_of(cue),
            definite=definite,
            kind=kind,
            gender=gender_of(tokens) if kind in ("person", "unknown") else None,
            roles=tuple(roles),
            cue_token=cue,
        )


# --- the article --------------------------------------------------------------------------------
