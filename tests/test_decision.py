"""The answer/decline decision (`bot/retrieval/decision.py`): question analysis, slots, the shipped model."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from bot.engine import Engine
from bot.retrieval.answers import Answer
from bot.retrieval.decision import FEATURES, MODEL_FILE, features, load_model
from bot.retrieval.question import analyse, names_meet, speaker_words
from bot.telegram.format import answer_blocks
from bot.terminal import format_answer
from bot.text.language import non_english
from bot.text.slots import sentence_slots


@pytest.mark.parametrize(
    ("question", "kind", "noun", "speaker"),
    [
        ("How many Russian soldiers have died?", "quantity", "soldiers", None),
        ("How many staffers is O'Malley sending to Iowa?", "quantity", "staffers", None),
        ("When will repairs begin?", "when", None, None),
        ("What did Matt Sinovic say?", "say", None, "Matt Sinovic"),
        ("What did the union spokesman say?", "say", None, "the union spokesman"),
        ("Who said the talks had failed?", "who_said", None, None),
        ("deadline?", "terse", None, None),
    ],
)
def test_questions_are_analysed_without_a_parser(question, kind, noun, speaker):
    shape = analyse(question)
    assert (shape.kind, shape.asked_noun, shape.asked_speaker) == (kind, noun, speaker)


def test_duration_questions_take_a_date_for_a_number():
    assert analyse("How long will the motorway be closed?").duration
    assert not analyse("How many buses will be diverted?").duration


def test_slots_tell_which_noun_a_number_counts_and_which_verb_a_date_dates():
    buses, council = (
        json.loads(s)
        for s in sentence_slots(
            [
                "14,000 vehicles a day use the bridge while 9 civilians died in Idlib.",
                "The council said on Monday that repairs will begin in March.",
            ]
        )
    )
    assert [n[1] for n in buses["n"]] == ["vehicle", "civilian"]  # no number counts soldiers or buses
    assert ["say", 1] in council["d"] and ["begin", 0] in council["d"]


def test_speaker_names_meet_despite_titles_and_typos():
    assert names_meet(speaker_words("Sen. Grassly"), speaker_words("Chuck Grassley"))
    assert not names_meet(speaker_words("Patty Judge"), speaker_words("Chuck Grassley"))


def test_shipped_model_is_versioned_and_uses_only_known_features():
    data = json.loads(MODEL_FILE.read_text("utf-8"))
    model = load_model()
    assert model.version == data["version"] and set(model.features) <= set(FEATURES)
    assert 0 < model.possibly < model.threshold < 1
    assert data["fit"]["trained_on"] and all("dev" not in name for name in data["fit"]["trained_on"])


def test_confidence_orders_an_answer_above_near_misses(engine: Engine):
    answered = engine.answer("How many Russian air strikes were counted over Idlib and Hama?")
    assert answered.answered and answered.decision == load_model().version
    for question in ("How many Iranian soldiers were killed?", "How do I reset my router?"):
        declined = engine.answer(question)
        assert not declined.answered and declined.confidence < answered.confidence


def test_non_english_is_told_apart_from_terse_english():
    assert non_english("Wie viele Soldaten sind gestorben?") == "German"
    assert non_english("كم عدد القتلى؟") == "Arabic"
    for english in ("deadline?", "What model is the gun?", "Clinton email server", "Was it Merkel?"):
        assert non_english(english) is None
    assert non_english("zimmerman gun model", known_share=1.0) is None


def test_possibly_relevant_is_shown_as_such_in_every_face(engine: Engine):
    base = engine.answer("How many Russian air strikes were counted over Idlib and Hama?")
    maybe = Answer(base.question, False, base.quotes, confidence=0.1, possibly_relevant=True)
    text = format_answer(maybe)
    assert "Possibly relevant" in text and "1. «Over 40 air strikes" in text
    html = "\n".join(answer_blocks(maybe))
    assert "Possibly relevant" in html and "<blockquote>" not in html
    assert maybe.to_dict()["possibly_relevant"] is True and maybe.to_dict()["answered"] is False


def test_the_slot_check_runs_only_when_it_can_change_the_verdict(engine: Engine):
    """With a slot stage, the cross-encoder is asked only inside the band where its (clipped) score
    can flip the verdict; outside it, running it would not have changed `answered`."""
    import dataclasses

    from bot.retrieval.decision import SlotStage, decide
    from bot.retrieval.slot_check import default_slot_check

    base = load_model()
    wide = dataclasses.replace(
        base, slot_stage=SlotStage(base=1.0, slot=0.5, intercept=0.0, low=-4.0, high=4.0, mean=-1.5)
    )
    reader = engine.reader
    questions = (
        "How many Russian air strikes were counted over Idlib and Hama?",
        "How many Iranian soldiers were killed?",
        "How do I reset my router?",
        "What did SOHR say?",
    )
    # A wide stage, and the shipped one if it has a stage (its band is narrow: the fitted score range).
    for model, question in itertools.product([wide, base] if base.slot_stage else [wide], questions):
        assert model.slot_stage is not None
        asked: list[str] = []
        ranked, quotes, terms = engine.evidence(reader, question, 5)

        def scorer(q: str, quote, asked=asked) -> float:  # type: ignore[no-untyped-def]
            asked.append(q)
            p = default_slot_check().score(q, [quote.quote])[0]
            return math.log(p / (1 - p))

        gated = decide(reader, question, ranked, quotes, terms, model=model, slot_scorer=scorer)
        z = model.log_odds(features(reader, analyse(question), ranked, quotes, terms))
        p_slot = default_slot_check().score(question, [quotes[0].quote])[0]
        always = model.slot_stage.combine(z, math.log(p_slot / (1 - p_slot)))
        assert gated.answered == (always >= math.log(model.threshold / (1 - model.threshold)))
        low, high = model.slot_stage.bounds(z)
        cut = math.log(model.threshold / (1 - model.threshold))
        assert (question in asked) == (low < cut <= high)


def test_one_shared_common_word_does_not_make_two_names_one():
    """Seen on the seed: "Syrian" alone made the chief of staff the SOHR of "What did SOHR say?"."""
    sohr = speaker_words("SOHR (Syrian Observatory for Human Rights)")
    assert not names_meet(sohr, speaker_words("Syrian regime armed forces chief of staff"))
    assert names_meet(sohr, speaker_words("SOHR") | speaker_words("Syrian Observatory for Human Rights"))
    assert not names_meet(speaker_words("John Smith"), speaker_words("John Doe"))
    assert names_meet(speaker_words("Sen. Chuck Grassley"), speaker_words("Grassley"))


def test_a_speaker_the_article_never_quotes_is_evidence_against_answering(engine: Engine):
    """ "What did X say?" about someone the article names but never quotes is a near miss."""
    reader = engine.reader

    def absent(question: str) -> float:
        shape = analyse(question)
        ranked, quotes, terms = engine.evidence(reader, question, 3, shape)
        return features(reader, shape, ranked, quotes, terms)["speaker_absent_article"]

    assert absent("What did SOHR say about the air strikes?") == 0.0
    assert absent("What did Assad say about the air strikes?") == 1.0  # named in the article, never quoted
