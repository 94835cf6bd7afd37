"""Answer slots of a sentence, read from a dependency parse when the index is built.

A near miss looks like an answer: every word of "How many buses will be diverted?" is next to
"14,000 vehicles ... buses will be diverted", and "When will repairs begin?" next to "the council
said on Monday". What tells them apart is which word a number counts and which verb a date
modifies. spaCy's parse gives both; it runs once per sentence at build time (the question side
never loads spaCy: `bot/retrieval/decision.py` reads these facts from the index).

Per sentence, a small JSON object:
- `n`: numbers: `[label, counted noun, head word, 1 if that verb is not a reported fact]` ("9
  civilians died": `["CARDINAL", "civilian", "die", 0]`; "$5 million" as the object of "cost":
  `["MONEY", "", "cost", 0]`; "aims to vaccinate 1.2 million children": `["CARDINAL", "child",
  "vaccinate", 1]`, a goal and not a done count, see `irrealis`);
- `d`: dates and times: `[verb they modify, 1 if that verb is one of reporting]` ("said on Monday":
  `["say", 1]`; "repairs will begin in March": `["begin", 0]`);
- `e`: the kinds of named entity in the sentence (PERSON, ORG, GPE, ...).
"""

from __future__ import annotations

import json
from typing import Any

#: Bumped when what a sentence's slots hold changes.
#: 2: a number's entry says whether its verb is a goal, plan, forecast or possibility (`irrealis`),
#: a 4th element. Indexes built before lack it and it reads as 0 there (`number_irrealis`). No
#: shipped decision model reads it (docs/quality.md, "The asked event's verb"), so the index schema
#: (`bot/index/manifest.py`) was left as it was: a model that weighs `count_irrealis` must bump
#: SCHEMA_VERSION, so that an older index says "rebuild" instead of answering with the flag unset.
SLOTS_VERSION = 2

#: Verbs that report speech or thought: a date on one of them dates the report, not the event.
REPORTING_VERBS = frozenset(
    [
        "say",
        "tell",
        "add",
        "announce",
        "report",
        "claim",
        "state",
        "confirm",
        "note",
        "write",
        "tweet",
        "explain",
        "declare",
        "insist",
        "argue",
        "warn",
        "testify",
        "reply",
        "respond",
        "answer",
        "ask",
        "acknowledge",
        "admit",
        "deny",
        "suggest",
        "post",
        "comment",
        "remark",
        "according",
        "describe",
        "indicate",
        "estimate",
        "believe",
        "think",
    ]
)
#: Modal auxiliaries: "could reach 100", "will hire 50" are not counts of what happened.
_MODALS = frozenset({"will", "would", "could", "may", "might", "should", "can", "shall", "must", "'ll", "wo", "ca"})
#: Verbs and adjectives whose infinitive complement states an intention or a forecast, not a fact:
#: "aims to vaccinate 1.2 million", "is expected to rise to 2.9 percent", "set to end on Tuesday".
_INTENT_HEADS = frozenset(
    {
        "aim",
        "plan",
        "hope",
        "want",
        "seek",
        "intend",
        "expect",
        "propose",
        "target",
        "try",
        "attempt",
        "need",
        "promise",
        "pledge",
        "vow",
        "threaten",
        "wish",
        "prepare",
        "set",
        "likely",
        "unlikely",
        "able",
        "project",
        "forecast",
        "predict",
        "schedule",
    }
)
#: Nouns whose infinitive or clause states a goal: "plans to send nine staffers", "a goal of ...".
_INTENT_NOUNS = frozenset({"goal", "plan", "target", "aim", "proposal", "bid", "effort", "promise", "pledge"})
_NUMBER_LABELS = frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"})
_DATE_LABELS = frozenset({"DATE", "TIME"})


def _verb(token: Any) -> Any:
    """The verb a token hangs from (itself if it is one), or the root of its sentence."""
    t = token
    while t.pos_ not in ("VERB", "AUX") and t.head.i != t.i:
        t = t.head
    return t


def irrealis(verb: Any) -> bool:
    """Whether a verb states a goal, plan, forecast or possibility rather than something that happened.

    "How many children were vaccinated?" is not answered by "The campaign aims to vaccinate 1.2
    million children": the number is right, the noun and the verb too, but it is a target. Read from
    the parse: a modal auxiliary ("could reach", "will hire"), a condition ("if ... 100"), or an
    infinitive under a verb, adjective or noun of intention ("aims to", "is expected to", "plans
    to"), following such infinitives up two steps ("expects to be able to hire"). Clauses joined by
    "and" or reported by another verb are not followed: their modality is their own.
    """
    t = verb
    for _ in range(3):
        for child in t.children:
            if child.dep_ in ("aux", "auxpass") and child.lower_ in _MODALS:
                return True
            if child.dep_ == "mark" and child.lower_ in ("if", "unless"):
                return True
        head = t.head
        if head.i == t.i or t.dep_ not in ("xcomp", "acl"):
            return False
        lemma = head.lemma_.lower()
        if t.dep_ == "xcomp" and (lemma in _INTENT_HEADS or head.lower_ == "going"):  # "is going to cut"
            return True
        if t.dep_ == "acl" and head.pos_ == "NOUN" and lemma in _INTENT_NOUNS:
            return True
        t = head
    return False


def number_irrealis(entry: list[Any]) -> bool:
    """A stored number's irrealis flag (`slots_of`), False for an entry of slots version 1."""
    return len(entry) > 3 and bool(entry[3])


def slots_of(doc: Any) -> dict[str, Any]:
    """The answer slots of one parsed sentence (a spaCy Doc or Span)."""
    numbers: list[list[Any]] = []
    dates: list[list[Any]] = []
    seen_ent_tokens: set[int] = set()
    for ent in doc.ents:
        root = ent.root
        seen_ent_tokens.update(t.i for t in ent)
        if ent.label_ in _NUMBER_LABELS:
            noun = ""
            head = root.head
            if root.dep_ in ("nummod", "quantmod", "compound", "amod", "npadvmod") and head.pos_ in ("NOUN", "PROPN"):
                noun = head.lemma_.lower()
            elif root.pos_ in ("NOUN",) and root.lemma_.lower() not in ("million", "billion", "thousand", "percent"):
                noun = root.lemma_.lower()
            else:  # "40 of the soldiers", "$800,000 in cash"
                for child in root.children:
                    if child.dep_ == "prep":
                        obj = next((c for c in child.children if c.dep_ == "pobj"), None)
                        if obj is not None and obj.pos_ in ("NOUN", "PROPN"):
                            noun = obj.lemma_.lower()
                            break
            holder = head if noun else root.head
            verb = _verb(holder)
            numbers.append([ent.label_, noun, verb.lemma_.lower(), int(irrealis(verb))])
        elif ent.label_ in _DATE_LABELS:
            verb = _verb(root.head)
            lemma = verb.lemma_.lower()
            dates.append([lemma, int(lemma in REPORTING_VERBS)])
    for token in doc:  # bare numerals the entity tagger left out ("14,000 vehicles")
        if token.like_num and token.i not in seen_ent_tokens and token.dep_ in ("nummod", "quantmod"):
            verb = _verb(token.head)
            numbers.append(["CARDINAL", token.head.lemma_.lower(), verb.lemma_.lower(), int(irrealis(verb))])
    return {"n": numbers, "d": dates, "e": sorted({e.label_ for e in doc.ents})}


def sentence_slots(texts: list[str]) -> list[str]:
    """The slots of many sentences, as the JSON the index stores (one parse pass, batched)."""
    if not texts:
        return []
    from bot.text.parse import parse

    # The attribution parsed these sentences moments ago while splitting: `parse` has them cached.
    return [json.dumps(slots_of(doc), separators=(",", ":")) for doc in parse(texts)]


def read_slots(value: str | None) -> dict[str, Any]:
    """A stored slots column back as a dict (empty slots for a sentence without any)."""
    if not value:
        return {"n": [], "d": [], "e": []}
    slots: dict[str, Any] = json.loads(value)
    return slots
