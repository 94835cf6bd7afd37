"""The verb half of the answer-slot check (issue 19): a number or date must belong to the asked event.

Hand-made sentences and questions (tests, not evidence: the figures are in docs/quality.md).
"""

from __future__ import annotations

import json

import pytest

from bot.retrieval.event import event_evidence
from bot.retrieval.event_question import asked_event, asks_irrealis, lemmas_of
from bot.retrieval.question import analyse
from bot.text.slots import number_verb, read_slots, sentence_slots


def _numbers(sentence: str) -> list[list]:
    return json.loads(sentence_slots([sentence])[0])["n"]


@pytest.mark.parametrize(
    ("sentence", "noun", "verb", "irrealis"),
    [
        ("Seven firefighters were treated for smoke inhalation.", "firefighter", "treat", 0),
        ("The campaign aims to vaccinate 1.2 million children by March.", "child", "vaccinate", 1),
        ("Officials said 1.1 million children were vaccinated last year.", "child", "vaccinate", 0),
        ("The plant could employ 300 workers if it is approved.", "worker", "employ", 1),
        ("The company is going to cut 500 jobs.", "job", "cut", 1),
        ("The party has plans to send nine staffers to the state.", "staffer", "send", 1),
        ("Both houses passed it, and 35 state legislatures ratified it.", "legislature", "ratify", 0),
        # A counted noun's own participle or relative clause is its number's event, not the clause's verb.
        ("Obama met the families of four Americans killed in the 2012 attack.", "americans", "kill", 0),
        ("There were 40 soldiers who were killed in the raid.", "soldier", "kill", 0),
        ("Of the 300 people detained in Texas, 40 were released.", "people", "detain", 0),
        ("Officials said 1,000 refugees expected to arrive next year would be housed.", "refugee", "arrive", 1),
        # A relative clause after a comma is an aside: the count stays on the clause's verb.
        ("The order restores the rights of 206,000 felons, who have been banned from voting.", "felon", "restore", 0),
    ],
)
def test_a_number_keeps_its_verb_and_whether_that_verb_is_a_fact(sentence, noun, verb, irrealis):
    assert [noun, verb, irrealis] in [[n[1], number_verb(n), n[3]] for n in _numbers(sentence)]


def test_the_clause_verb_stays_where_the_shipped_slot_features_read_it():
    """The 3rd element is still the clause's verb: only the event features read the noun's own one."""
    (entry,) = _numbers("Obama met the families of four Americans killed in the 2012 attack.")
    assert entry == ["CARDINAL", "americans", "meet", 0, "kill"]


@pytest.mark.parametrize(
    ("question", "event"),
    [
        ("How many firefighters were killed in the wildfire?", ("killed",)),
        # A participle of the subject is another event: the main verb follows the auxiliary.
        ("How many of the Syrian refugees detained in Texas were released?", ("released",)),
        # So is a clause of its own.
        ("How many felons have voted since their rights were restored?", ("voted",)),
        ("By how many points did Tenney win once the absentee ballots were counted?", ("win",)),
        ("How many soldiers who were deployed to Iraq have died?", ("died",)),
        # Inverted subject: the clause's content words, names left out.
        ("How many staffers has the RNC sent to Colorado?", ("sent",)),
        ("When did Scott Walker drop out of the race?", ("drop", "out", "race")),
        ("When did the recession end?", ("recession", "end")),
        # No auxiliary: the words after the question word.
        ("How many people died in the attack?", ("died", "attack")),
        ("How many delegates does Trump have so far?", ()),
    ],
)
def test_the_question_main_verb_is_read_without_a_parser(question, event):
    assert asked_event(question, analyse(question).asked_noun) == event


def test_the_question_modality_and_lemmas_are_read_without_a_parser():
    assert not asks_irrealis("How many firefighters were killed in the wildfire?")
    assert asks_irrealis("How many children will be vaccinated?")
    assert "die" in lemmas_of("died") and "vaccinate" in lemmas_of("vaccinated") and "begin" in lemmas_of("began")


def _quote(*sentences: str) -> list[dict]:
    """The slots of a passage of these sentences, as the decision reads them from the index."""
    return [read_slots(s) for s in sentence_slots(list(sentences))]


@pytest.mark.parametrize(
    ("question", "sentence", "on_asked", "on_other", "irrealis"),
    [
        ("How many firefighters were killed in the wildfire?", "Seven firefighters were treated for smoke.", 0, 1, 0),
        ("How many firefighters died in the wildfire?", "Seven firefighters died in the wildfire.", 1, 0, 0),
        # A goal on the asked verb is not a count of what happened; asked about the plan, it answers.
        ("How many children were vaccinated?", "The campaign aims to vaccinate 1.2 million children.", 0, 0, 1),
        ("How many children will be vaccinated?", "The campaign aims to vaccinate 1.2 million children.", 1, 0, 0),
        ("How many children were vaccinated?", "Officials said 1.1 million children were vaccinated.", 1, 0, 0),
        # The count on the noun's own participle answers; the subject's participle is not the asked event.
        ("How many Americans were killed?", "Obama met the families of four Americans killed in the attack.", 1, 0, 0),
        ("How many of the refugees detained in Texas were released?", "Officials detained 300 refugees.", 0, 1, 0),
    ],
)
def test_a_number_on_another_event_or_a_goal_is_told_from_the_asked_count(
    question, sentence, on_asked, on_other, irrealis
):
    f = event_evidence(analyse(question), _quote(sentence))
    assert (f["count_on_asked_verb"], f["count_on_other_verb"], f["count_irrealis"]) == (on_asked, on_other, irrealis)


def test_a_date_on_the_asked_verb_is_told_from_a_date_on_another():
    question = analyse("When did the repairs begin?")
    assert event_evidence(question, _quote("Repairs began in March."))["date_on_asked_verb"] == 1
    assert event_evidence(question, _quote("The bridge was closed in March."))["date_on_asked_verb"] == 0
    assert (
        event_evidence(question, _quote("The council said on Monday that repairs were needed."))["date_on_asked_verb"]
        == 0
    )


def test_a_number_stored_before_the_flag_reads_as_a_fact():
    question = analyse("How many children were vaccinated?")
    old = [{"n": [["CARDINAL", "child", "vaccinate"]], "d": [], "e": ["CARDINAL"]}]
    assert event_evidence(question, old)["count_irrealis"] == 0


def test_other_kinds_of_question_get_none_of_these_features():
    assert event_evidence(analyse("What did the mayor say?"), _quote("Seven firefighters were treated.")) == {}


def test_the_decision_reads_the_event_only_for_a_model_that_weighs_it(engine, monkeypatch):
    """A model that does not name the event features (the shipped one) pays nothing for them."""
    import dataclasses

    from bot.retrieval import decision

    calls: list[str] = []

    def counted(shape, slots):
        calls.append(shape.original)
        return {}

    monkeypatch.setattr(decision, "event_evidence", counted)
    question = "How many Russian air strikes were counted over Idlib and Hama?"
    ranked, quotes, terms = engine.evidence(engine.reader, question, 5)
    shipped = decision.load_model()
    assert decision.EVENT_FEATURES_SET.isdisjoint(shipped.features)
    decision.decide(engine.reader, question, ranked, quotes, terms, model=shipped, slot_scorer=lambda q, quote: -1.5)
    assert calls == []
    weighing = dataclasses.replace(
        shipped,
        features=(*shipped.features, "count_irrealis"),
        mean=(*shipped.mean, 0.0),
        scale=(*shipped.scale, 1.0),
        coef=(*shipped.coef, -1.0),
    )
    decision.decide(engine.reader, question, ranked, quotes, terms, model=weighing, slot_scorer=lambda q, quote: -1.5)
    assert calls == [question]
