"""The shared dev questions against the real model and index (issue [engine] targets)."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from tests.conftest import SHARED, dev_questions

pytestmark = pytest.mark.skipif(
    not (SHARED / "dev_questions.jsonl").exists(), reason="../shared not beside the checkout"
)


def rank_of_expected(engine: Engine, item: dict, k: int = 3) -> int | None:
    answer = engine.answer(item["q"], k)
    for rank, quote in enumerate(answer.quotes):
        if any(e in quote.text for e in item["expect"]):
            return rank
    return None


def test_answerable_questions_have_an_expected_quote_in_the_top_3(engine: Engine):
    answerable = [q for q in dev_questions() if not q.get("negative")]
    assert len(answerable) == 22
    ranks = {q["id"]: rank_of_expected(engine, q) for q in answerable}
    hits = [i for i, r in ranks.items() if r is not None]
    assert len(hits) >= 20, f"misses: {[i for i, r in ranks.items() if r is None]}"


@pytest.mark.parametrize("qid", ["d23", "d24"])
def test_off_topic_questions_are_not_answered(engine: Engine, qid: str):
    item = next(q for q in dev_questions() if q["id"] == qid)
    answer = engine.answer(item["q"])
    assert answer.answered is False
    assert answer.quotes  # the closest passages are still there, shown as related


def test_speakers_of_hits_match(engine: Engine):
    wrong = []
    for item in dev_questions():
        if not item.get("speaker"):
            continue
        answer = engine.answer(item["q"])
        quote = next((q for q in answer.quotes if any(e in q.text for e in item["expect"])), None)
        if quote is None:
            continue
        if not any(s.lower() in quote.speaker.label.lower() for s in item["speaker"]):
            wrong.append((item["id"], quote.speaker.label))
    assert not wrong


def test_sohr_question_quotes_the_sohr_sentence(engine: Engine):
    answer = engine.answer("How many Russian air strikes were counted over Idlib and Hama?")
    best = answer.quotes[0]
    assert answer.answered
    assert (
        best.quote == "Over 40 air strikes showered over Idlib and Hama on Wednesday only, SOHR confirmed on Thursday."
    )
    assert best.speaker.name == "SOHR" and best.paragraph == 12
    assert best.article.title == "Syrian regime initiates second Russian-backed offensive"
