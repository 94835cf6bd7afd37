"""The verb half of the answer-slot check: whether the number or date belongs to the asked event.

`decision.py`'s slot features ask whether a number counts the asked noun ("9 civilians" does
not answer "how many soldiers"). A near miss often passes that and still answers another event:
"How many firefighters were killed in the wildfire?" next to "Seven firefighters were treated for
smoke inhalation", or a goal for a count of what happened ("How many children were vaccinated?"
next to "The campaign aims to vaccinate 1.2 million children"). The number's verb and whether it
states a fact come from the parse stored at build time (`bot/text/slots.py`: a counted noun's own
participle or relative clause first, "four Americans killed in the attack"); the question side is
read without a parser by `event_question.py` (the query path never loads spaCy): its main verb
(not a participle of the subject nor a "since" clause), the verb's guessed lemmas, and whether the
question asks about a plan.

The features are computed by the fit (`scripts/fit_decision.py`) and, at query time, only for a
model that weighs them (~0.02 ms a "how many" or "when" question). See docs/quality.md, "The asked
event's verb" and the subsections after it, for what they were measured to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.retrieval.decision_inputs import NUMBERISH, counts_particular
from bot.retrieval.event_question import asked_event, asks_irrealis, lemmas_of
from bot.retrieval.question import same_word
from bot.text.slots import number_irrealis, number_verb

if TYPE_CHECKING:
    from bot.retrieval.question import QuestionShape

#: The features `event_evidence` gives, in `decision.FEATURES`' order.
EVENT_FEATURES = ("count_on_asked_verb", "count_on_other_verb", "count_irrealis", "date_on_asked_verb")
#: The same as a set: `decide` computes them only for a model that weighs one (none shipped does).
EVENT_FEATURES_SET = frozenset(EVENT_FEATURES)


#: Verbs that carry no event of their own: a number on "be" or "have" ("there were 7", "has 216
#: staffers") is neither on the asked verb nor on another one.
_LIGHT_VERBS = frozenset({"be", "have", "do", "get", "make", "take", "give", "include", "go", "come"})


def event_evidence(shape: QuestionShape, slots: list[dict[str, Any]]) -> dict[str, float]:
    """Whether the quote's number or date belongs to the asked event (the verb half of the slot check).

    `_slot_evidence` asks whether a number counts the asked noun; a near miss often passes that
    and still answers another event: "How many firefighters were killed?" next to "Seven
    firefighters were treated", or a goal ("aims to vaccinate 1.2 million children") for a count
    of what happened. The number's verb and its modality come from the build-time parse (the
    stored slots); the question's asked event and modality from its words (`asked_event`,
    `asks_irrealis`: no parser at query time), the verb matched on its guessed lemmas
    (`lemmas_of`). `slots`: the best passage's sentences' slots, as `_slot_evidence` reads them.
    """
    f: dict[str, float] = {}
    if shape.kind not in ("quantity", "when") or not slots:
        return f
    asked = asked_event(shape.original, shape.asked_noun)

    def on_asked(verb: str) -> bool:
        return any(verb in lemmas_of(w) or same_word(verb, w) for w in asked)

    if shape.kind == "quantity":
        numbers = [n for s in slots for n in s["n"] if n[0] in NUMBERISH]
        noun = shape.asked_noun
        if noun and counts_particular(noun):
            numbers = [n for n in numbers if n[1] and same_word(n[1], noun)]
        if not numbers:
            return f
        plan = asks_irrealis(shape.original)
        # A goal on the asked verb ("plans to send nine staffers") does not answer a question about
        # what happened ("How many staffers has the RNC sent?"): only a count of the asked modality
        # is on the asked event. Whether every count is a goal is `count_irrealis`'s to say.
        verbs = [number_verb(n) for n in numbers]
        f["count_on_asked_verb"] = float(
            any(on_asked(v) for v, n in zip(verbs, numbers, strict=True) if plan or not number_irrealis(n))
        )
        eventful = [v for v in verbs if v not in _LIGHT_VERBS]
        f["count_on_other_verb"] = float(bool(asked and eventful) and not any(on_asked(v) for v in verbs))
        f["count_irrealis"] = float(not plan and all(number_irrealis(n) for n in numbers))
    else:
        f["date_on_asked_verb"] = float(any(not reporting and on_asked(v) for s in slots for v, reporting in s["d"]))
    return f
