"""Answer slots of a sentence, read from a dependency parse when the index is built.

A near miss looks like an answer: every word of "How many buses will be diverted?" is next to
"14,000 vehicles ... buses will be diverted", and "When will repairs begin?" next to "the council
said on Monday". What tells them apart is which word a number counts and which verb a date
modifies. spaCy's parse gives both; it runs once per sentence at build time (the question side
never loads spaCy: `bot/retrieval/decision.py` reads these facts from the index).

Per sentence, a small JSON object:
- `n`: numbers: `[label, counted noun, the clause's verb, 1 if the number's event is not a
  reported fact, the counted noun's own verb or ""]` ("9 civilians died": `["CARDINAL",
  "civilian", "die", 0, ""]`; "$5 million" as the object of "cost": `["MONEY", "", "cost", 0,
  ""]`; "aims to vaccinate 1.2 million children": `["CARDINAL", "child", "vaccinate", 1, ""]`, a
  goal and not a done count, see `irrealis`; "met the families of four Americans killed in the
  attack": `["CARDINAL", "americans", "meet", 0, "kill"]`, the Americans' own participle, see
  `_own_verb`). The number's event is its noun's own verb when there is one, else the clause's
  (`number_verb`);
- `d`: dates and times: `[verb they modify, 1 if that verb is one of reporting]` ("said on Monday":
  `["say", 1]`; "repairs will begin in March": `["begin", 0]`);
- `e`: the kinds of named entity in the sentence (PERSON, ORG, GPE, ...).
"""

from __future__ import annotations

import json
from typing import Any

#: Bumped when what a sentence's slots hold changes; each bump also bumps the index schema
#: (`bot/index/manifest.py` SCHEMA_VERSION), so that an index built with older slots says
#: "rebuild" (and a build redoes every article) instead of mixing two readings.
#: 2: a number's entry says whether its verb is a goal, plan, forecast or possibility (`irrealis`),
#: a 4th element (read as 0 from an entry without it, `number_irrealis`).
#: 3: a number's entry gains a 5th element, its counted noun's own participle or relative clause
#: ("four Americans killed in the attack" -> kill, where the clause's verb is "met"), see
#: `_own_verb`; the flag (4th) is that verb's modality when there is one; index schema 5. The
#: clause's verb (3rd) stays as it was, since the shipped decision's slot features read it.
SLOTS_VERSION = 3

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


def _own_verb(noun: Any) -> Any:
    """The verb of a counted noun's own participle or relative clause, or None if it has none.

    "met the families of four Americans killed in the 2012 attack": the number counts the
    Americans who were killed, not the meeting; climbing from the noun to the clause's verb (as
    `_verb` does) would file it under "meet", and "How many Americans were killed?" would find its
    own answer on another event. A participle (`acl`: "killed in the attack", "to come to
    Georgia") or a relative clause (`relcl`: "who were killed") says what happened to the counted
    things; a relative clause after a comma is an aside about them ("restores the rights of 206,000
    felons, who have been banned from voting": the count is of the restoring). An intention in
    between ("1,000 refugees expected to arrive") is followed down to the verb it governs, which
    `irrealis` then flags as a forecast.
    """
    for child in noun.children:
        if child.dep_ == "relcl" and child.left_edge.i > 0 and child.doc[child.left_edge.i - 1].text == ",":
            continue  # "206,000 felons, who have been banned from voting": an aside, not what defines them
        if child.dep_ in ("acl", "relcl") and child.pos_ == "VERB":
            verb = child
            for _ in range(2):
                if verb.lemma_.lower() not in _INTENT_HEADS:
                    break
                goal = next((c for c in verb.children if c.dep_ == "xcomp" and c.pos_ == "VERB"), None)
                if goal is None:
                    break
                verb = goal
            return verb
    return None


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


def _lemma(token: Any) -> str:
    """A token's lemma in lower case, "" for None."""
    return "" if token is None else str(token.lemma_.lower())


def number_verb(entry: list[Any]) -> str:
    """A stored number's event: its counted noun's own verb if it has one, else its clause's verb.

    Entries of slots version 2 or older have no own verb: the clause's verb, as they were read.
    """
    own = entry[4] if len(entry) > 4 else ""
    return str(own or entry[2])


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
            counted = None  # the counted noun's token, whose own participle or clause may be the event
            head = root.head
            if root.dep_ in ("nummod", "quantmod", "compound", "amod", "npadvmod") and head.pos_ in ("NOUN", "PROPN"):
                noun, counted = head.lemma_.lower(), head
            elif root.pos_ in ("NOUN",) and root.lemma_.lower() not in ("million", "billion", "thousand", "percent"):
                noun, counted = root.lemma_.lower(), root
            else:  # "40 of the soldiers", "$800,000 in cash"
                for child in root.children:
                    if child.dep_ == "prep":
                        obj = next((c for c in child.children if c.dep_ == "pobj"), None)
                        if obj is not None and obj.pos_ in ("NOUN", "PROPN"):
                            noun, counted = obj.lemma_.lower(), obj
                            break
            holder = head if noun else root.head
            verb = _verb(holder)
            own = _own_verb(counted) if counted is not None else None
            event = own if own is not None else verb
            numbers.append([ent.label_, noun, verb.lemma_.lower(), int(irrealis(event)), _lemma(own)])
        elif ent.label_ in _DATE_LABELS:
            verb = _verb(root.head)
            lemma = verb.lemma_.lower()
            dates.append([lemma, int(lemma in REPORTING_VERBS)])
    for token in doc:  # bare numerals the entity tagger left out ("14,000 vehicles")
        if token.like_num and token.i not in seen_ent_tokens and token.dep_ in ("nummod", "quantmod"):
            verb = _verb(token.head)
            own = _own_verb(token.head)
            event = own if own is not None else verb
            numbers.append(
                ["CARDINAL", token.head.lemma_.lower(), verb.lemma_.lower(), int(irrealis(event)), _lemma(own)]
            )
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
