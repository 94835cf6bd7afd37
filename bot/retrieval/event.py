"""The verb half of the answer-slot check: whether the number or date belongs to the asked event.

`decision.py`'s slot features ask whether a number counts the asked noun ("9 civilians" does
not answer "how many soldiers"). A near miss often passes that and still answers another event:
"How many firefighters were killed in the wildfire?" next to "Seven firefighters were treated for
smoke inhalation", or a goal for a count of what happened ("How many children were vaccinated?"
next to "The campaign aims to vaccinate 1.2 million children"). The number's verb and whether it
states a fact come from the parse stored at build time (`bot/text/slots.py`); the question side
is read without a parser (the query path never loads spaCy): its words that may name the event,
their guessed lemmas, and whether it asks about a plan.

The features are computed by the fit (`scripts/fit_decision.py`) and, at query time, only for a
model that weighs them (~0.02 ms a "how many" or "when" question). No shipped model does: fitted
on the PolNeAR training questions the first two came out backwards (a number on the asked verb
counted *against* answering), a habit of how the near misses were written, and the reporting set
did not move (docs/quality.md, "The asked event's verb"). They stay for a refit on questions that
hold such near misses.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot.retrieval.decision_inputs import NUMBERISH, counts_particular
from bot.retrieval.question import STOP_AFTER_COUNT, same_word, stem
from bot.text.slots import number_irrealis

if TYPE_CHECKING:
    from bot.retrieval.question import QuestionShape

#: The features `event_evidence` gives, in `decision.FEATURES`' order.
EVENT_FEATURES = ("count_on_asked_verb", "count_on_other_verb", "count_irrealis", "date_on_asked_verb")
#: The same as a set: `decide` computes them only for a model that weighs one (none shipped does).
EVENT_FEATURES_SET = frozenset(EVENT_FEATURES)


#: A question about a plan or forecast: then a goal ("aims to vaccinate 1.2 million") may answer it.
_IRREALIS = re.compile(
    r"\b(?:will|would|could|might|may|should|shall|going to|set to|plans?|planned|planning|aims?|aimed|"
    r"expects?|expected|goal|target(?:s|ed)?|wants?|propose[sd]?|proposal|intends?|intended|hopes?|hoped|"
    r"projected|forecast|predicted|likely|promise[sd]?|pledge[sd]?)\b",
    re.I,
)
#: Words that never name the asked event: question words, auxiliaries, light verbs, fillers.
_NOT_EVENT = STOP_AFTER_COUNT | frozenset(
    [
        "how",
        "many",
        "much",
        "when",
        "what",
        "which",
        "where",
        "who",
        "whom",
        "why",
        "time",
        "date",
        "day",
        "year",
        "month",
        "until",
        "since",
        "first",
        "last",
        "still",
        "far",
        "now",
        "currently",
        "already",
        "ever",
        "percent",
        "percentage",
        "number",
        "share",
        "long",
        "old",
        "there",
        "its",
        "their",
        "his",
        "her",
        "they",
        "more",
        "less",
        "fewer",
        "total",
        "get",
        "got",
        "make",
        "made",
        "take",
        "took",
        "taken",
        "give",
        "gave",
        "given",
        "go",
        "went",
        "gone",
        "come",
        "came",
    ]
)


@lru_cache(maxsize=4096)
def event_words(question: str, asked_noun: str | None = None) -> tuple[str, ...]:
    """The question's words that may name the asked event ("killed", "wildfire" of the example).

    Example: "How many firefighters were killed in the wildfire?". Left out: question and auxiliary
    words, the counted noun, names (capitalised after the first word). Without a parser the verb
    cannot be told from the other content words; a number's or date's verb (from the build-time
    parse) is compared with all of them, which costs little: a sentence's number rarely hangs from
    a verb that is also a noun of the question.
    """
    out = []
    for i, w in enumerate(re.findall(r"[\w’'-]+", question)):
        lw = w.casefold()
        if len(lw) < 3 or lw in _NOT_EVENT or lw == asked_noun or (i > 0 and w[:1].isupper()):
            continue
        out.append(lw)
    return tuple(out)


#: Past forms the light stemmer cannot take back to the lemma spaCy stores ("began" -> "begin").
_IRREGULAR = {
    "began": "begin",
    "begun": "begin",
    "bought": "buy",
    "brought": "bring",
    "built": "build",
    "caught": "catch",
    "chose": "choose",
    "chosen": "choose",
    "cut": "cut",
    "died": "die",
    "drew": "draw",
    "drawn": "draw",
    "drove": "drive",
    "driven": "drive",
    "fell": "fall",
    "fallen": "fall",
    "fled": "flee",
    "fought": "fight",
    "found": "find",
    "flew": "fly",
    "flown": "fly",
    "froze": "freeze",
    "frozen": "freeze",
    "grew": "grow",
    "grown": "grow",
    "held": "hold",
    "hid": "hide",
    "hit": "hit",
    "hurt": "hurt",
    "kept": "keep",
    "knew": "know",
    "known": "know",
    "laid": "lay",
    "led": "lead",
    "left": "leave",
    "lent": "lend",
    "lost": "lose",
    "met": "meet",
    "paid": "pay",
    "put": "put",
    "quit": "quit",
    "ran": "run",
    "raised": "raise",
    "rose": "rise",
    "risen": "rise",
    "said": "say",
    "saw": "see",
    "seen": "see",
    "sent": "send",
    "set": "set",
    "shot": "shoot",
    "shut": "shut",
    "sold": "sell",
    "sought": "seek",
    "spent": "spend",
    "spoke": "speak",
    "spoken": "speak",
    "stole": "steal",
    "stolen": "steal",
    "struck": "strike",
    "swore": "swear",
    "sworn": "swear",
    "taught": "teach",
    "thought": "think",
    "threw": "throw",
    "thrown": "throw",
    "told": "tell",
    "took": "take",
    "voted": "vote",
    "woke": "wake",
    "won": "win",
    "wore": "wear",
    "wrote": "write",
    "written": "write",
}


#: Endings taken off a word to guess its lemma, each with what may have stood there.
_DEINFLECT = (("ied", ("y",)), ("ies", ("y",)), ("ed", ("", "e")), ("ing", ("", "e")), ("es", ("", "e")), ("s", ("",)))


@lru_cache(maxsize=8192)
def lemmas_of(word: str) -> frozenset[str]:
    """The lemmas an inflected word may have ("vaccinated" -> vaccinate, vaccinat; "died" -> die).

    The question is read without a parser, so a word's lemma is guessed: every plausible
    de-inflection is kept, and one of them meets the lemma the build-time parse stored.
    """
    w = word.casefold()
    out = {w, stem(w)}
    if w in _IRREGULAR:
        out.add(_IRREGULAR[w])
    for suffix, repls in _DEINFLECT:
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            root = w[: -len(suffix)]
            out.update(root + r for r in repls)
            if suffix in ("ed", "ing") and len(root) >= 3 and root[-1] == root[-2]:  # "stopped", "cutting"
                out.add(root[:-1])
            break
    return frozenset(out)


def asks_irrealis(question: str) -> bool:
    """Whether the question asks about a plan, forecast or possibility ("How many will be hired?").

    Then a goal or forecast in the passage may answer it; a question about what happened needs a fact.
    """
    return bool(_IRREALIS.search(question))


#: Verbs that carry no event of their own: a number on "be" or "have" ("there were 7", "has 216
#: staffers") is neither on the asked verb nor on another one.
_LIGHT_VERBS = frozenset({"be", "have", "do", "get", "make", "take", "give", "include", "go", "come"})


def event_evidence(shape: QuestionShape, slots: list[dict[str, Any]]) -> dict[str, float]:
    """Whether the quote's number or date belongs to the asked event (the verb half of the slot check).

    `_slot_evidence` asks whether a number counts the asked noun; a near miss often passes that
    and still answers another event: "How many firefighters were killed?" next to "Seven
    firefighters were treated", or a goal ("aims to vaccinate 1.2 million children") for a count
    of what happened. The number's verb and its modality come from the build-time parse (the
    stored slots); the question's possible event words and modality from its words (`event_words`,
    `asks_irrealis`: no parser at query time), the verb matched on its guessed lemmas
    (`lemmas_of`). `slots`: the best passage's sentences' slots, as `_slot_evidence` reads them.
    """
    f: dict[str, float] = {}
    if shape.kind not in ("quantity", "when") or not slots:
        return f
    asked = event_words(shape.original, shape.asked_noun)

    def on_asked(verb: str) -> bool:
        return any(verb in lemmas_of(w) or same_word(verb, w) for w in asked)

    if shape.kind == "quantity":
        numbers = [n for s in slots for n in s["n"] if n[0] in NUMBERISH]
        noun = shape.asked_noun
        if noun and counts_particular(noun):
            numbers = [n for n in numbers if n[1] and same_word(n[1], noun)]
        if not numbers:
            return f
        f["count_on_asked_verb"] = float(any(on_asked(n[2]) for n in numbers))
        eventful = [n for n in numbers if n[2] not in _LIGHT_VERBS]
        f["count_on_other_verb"] = float(bool(asked and eventful) and not any(on_asked(n[2]) for n in numbers))
        f["count_irrealis"] = float(not asks_irrealis(shape.original) and all(number_irrealis(n) for n in numbers))
    else:
        f["date_on_asked_verb"] = float(any(not reporting and on_asked(v) for s in slots for v, reporting in s["d"]))
    return f
