"""The PolNeAR scorer (`bot/evaluation/polnear.py`): the four measures on a written article and gold, and a
short real run on the shared dev split when it is beside the checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.evaluation.polnear import (
    PolnearReport,
    content_words,
    evaluate_split,
    is_speech_cue,
    score_article,
    speaker_is,
)
from bot.text.passages import BodySentence
from bot.text.speaker import Speaker
from tests.conftest import SHARED


def sentence(start: int, end: int, speaker: Speaker) -> BodySentence:
    return BodySentence(start, end, "x" * (end - start), 1, speaker)


def gold(source: str | None, span: tuple[int, int], cue: str = "said", pronoun: bool = False) -> dict:
    return {
        "source": source,
        "source_is_pronoun": pronoun,
        "cue": cue,
        "content_start": span[0],
        "content_end": span[1],
        "content_spans": [list(span)],
    }


def test_content_words_drop_titles_determiners_and_possessives():
    assert content_words("Sen. Charles Grassley's office") == {"charles", "grassley", "office"}
    assert speaker_is(Speaker("Grassley"), "Sen. Charles Grassley")
    assert not speaker_is(Speaker("the ministry"), "The Post")
    assert speaker_is(Speaker("WHO", full_name="World Health Organization"), "the World Health Organization")


def test_speech_cues():
    assert is_speech_cue("told reporters") and is_speech_cue("has argued") and is_speech_cue("said in a statement")
    assert not is_speech_cue("according to") and not is_speech_cue("believes") and not is_speech_cue(None)


def test_four_measures_on_a_written_article():
    publisher = Speaker("Example News", kind="publisher", rule="publisher")
    sentences = [
        sentence(0, 50, Speaker("Jane Doe", rule="subject")),  # right
        sentence(51, 100, Speaker("Tom Reed", rule="subject")),  # wrong speaker
        sentence(101, 150, publisher),  # missed
        sentence(151, 200, Speaker("Jane Doe", rule="pronoun", said_as="she")),  # pronoun named
        sentence(201, 250, Speaker("Analysts", rule="subject")),  # no gold content: imprecise
    ]
    items = [
        gold("Harbour master Jane Doe", (0, 49)),
        gold("the union", (51, 99), cue="argued"),
        gold("officials", (101, 149), cue="believe"),
        gold("she", (151, 199), pronoun=True),
        gold(None, (0, 10)),  # no written source: not counted
    ]
    report = PolnearReport(split="written")
    score_article(report, sentences, items)
    d = report.to_dict()
    assert d["overall"]["named"] == 3 and d["overall"]["source_accuracy"] == pytest.approx(1 / 3, abs=1e-3)
    assert d["overall"]["pronoun"] == 1 and d["overall"]["pronoun_named"] == 1.0
    assert d["overall"]["missed"] == pytest.approx(1 / 4)
    assert d["overall"]["attributed_sentences"] == 4 and d["overall"]["precision"] == pytest.approx(3 / 4)
    assert d["overall"]["right_speaker_share"] == pytest.approx(1 / 2)  # pronoun-only sentence not checkable
    assert d["speech_cues"]["named"] == 2  # "said", "argued"; "believe" is not speech
    assert d["rules"]["publisher"]["missed"] == 1.0
    assert "overall" in report.format_text()


@pytest.mark.skipif(not (SHARED / "polnear" / "dev" / "gold.jsonl").exists(), reason="../shared/polnear not here")
def test_a_real_run_on_two_dev_articles():
    report = evaluate_split(SHARED / "polnear" / "dev", limit=2)
    d = report.to_dict()
    assert report.articles == 2 and d["overall"]["named"] > 0
    json.dumps(d)  # JSON-ready
    assert Path(SHARED / "polnear" / "dev").is_dir()


PRONOUN_CHECK = Path(__file__).parent / "data" / "pronoun_check.jsonl"


def test_pronoun_hand_check_is_well_formed_and_at_least_80_percent_right():
    rows = [json.loads(line) for line in PRONOUN_CHECK.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) == 100
    keys = {"article", "source_start", "source_end", "content_start", "content_end", "pronoun"}
    keys |= {"system_speaker", "rule", "verdict"}
    for row in rows:
        assert keys <= set(row) and set(row) <= keys | {"note"}, row
        assert row["pronoun"] in {"he", "she", "they", "it"}
        assert row["verdict"] in {"right", "wrong"}
        assert row["verdict"] == "right" or row["note"], row  # every wrong one says why
        assert row["verdict"] == "wrong" or row["system_speaker"], row  # the publisher is never right
        assert 0 <= row["source_start"] < row["source_end"] and row["content_start"] < row["content_end"]
        assert all(len(str(v)) < 200 for v in row.values())  # ids, offsets and names: no article text
    assert len({(r["article"], r["source_start"], r["content_start"]) for r in rows}) == 100
    accuracy = sum(r["verdict"] == "right" for r in rows) / len(rows)
    assert accuracy >= 0.80
    readme = (PRONOUN_CHECK.parent / "README.md").read_text(encoding="utf-8")
    assert f"{round(accuracy * 100)} of 100 right" in readme


@pytest.mark.skipif(not (SHARED / "polnear" / "dev" / "gold.jsonl").exists(), reason="../shared/polnear not here")
def test_pronoun_hand_check_points_at_dev_gold_pronouns():
    from bot.evaluation.polnear import load_gold

    gold = load_gold(SHARED / "polnear" / "dev")
    rows = [json.loads(line) for line in PRONOUN_CHECK.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        match = [
            g
            for g in gold[row["article"]]
            if g["source_start"] == row["source_start"] and g["content_start"] == row["content_start"]
        ]
        assert match and match[0]["source_is_pronoun"] and match[0]["source"].lower() == row["pronoun"], row
