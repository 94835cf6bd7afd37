"""The weakly supervised pairs for pre-training the answer-slot check (bot/evaluation/slot_pairs.py).

Hand-made sentences through the real spaCy parse: the generator must read which noun a number
counts and which verb it hangs from, tell a goal from a done count and a report's date from the
event's, and build each hard negative over the same sentence with one slot swapped and the same
question form as its positive (else the model could learn the template, not the slot).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.evaluation import slot_pairs
from bot.evaluation.pair_sources import clean_source
from bot.evaluation.slot_pairs import Pair, article_pairs
from bot.evaluation.slot_reading import counts, dated_events
from bot.text.parse import parse
from tests.conftest import benchmark_module

ROOT = Path(__file__).resolve().parent.parent

ARTICLE = [
    "Seven firefighters were treated for smoke inhalation on Tuesday.",
    "Three firefighters were killed when the roof collapsed.",
    "The campaign aims to vaccinate 1.2 million children this year.",
    "The council said on Monday that the company will repair the bridge.",
    "The agency hired 40 inspectors in March.",
    "Police arrested 12 protesters outside the embassy.",
    '"The stadium will be paid for by private money, not by taxpayers," Mayor Jane Smith said.',
    "The governor signed the bill on Friday.",
    "The stadium opened in 1998.",
]
SPEAKERS = {6: "Jane Smith", 3: "Tom Brown"}


def _pairs() -> list[Pair]:
    docs = parse(ARTICLE)
    return article_pairs(
        "hand", [(t, d, SPEAKERS.get(i), i in SPEAKERS) for i, (t, d) in enumerate(zip(ARTICLE, docs, strict=True))]
    )


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    return _pairs()


def test_a_count_is_read_with_its_noun_verb_and_question_form() -> None:
    (treated,) = counts(parse([ARTICLE[0]])[0])
    assert (treated.noun_lemma, treated.verb, treated.form, treated.surface, treated.goal) == (
        "firefighter",
        "treat",
        "passive",
        "treated",
        False,
    )
    (hired,) = counts(parse([ARTICLE[4]])[0])
    assert (hired.verb, hired.form, hired.surface, hired.subject) == ("hire", "object", "hire", "the agency")


def test_a_goal_is_not_a_done_count() -> None:
    (goal,) = counts(parse([ARTICLE[2]])[0])
    assert goal.goal and goal.intent == "aim" and goal.noun == "children"


def test_a_date_on_the_reporting_verb_dates_the_report_not_the_reported_event() -> None:
    (event,) = dated_events(parse([ARTICLE[3]])[0])
    assert event.reporting and event.verb == "repair" and event.subject == "the company"
    (signed,) = dated_events(parse([ARTICLE[7]])[0])
    assert not signed.reporting and signed.verb == "sign"
    assert dated_events(parse(["Seven firefighters were treated for three years."])[0]) == []  # a duration


def test_hard_negatives_swap_one_slot_over_the_same_sentence(pairs: list[Pair]) -> None:
    positive = {p.sentence: p for p in pairs if p.label == 1.0 and p.kind == "count"}
    by_why = {(p.sentence, p.why): p for p in pairs if p.label == 0.0}
    killed = ARTICLE[1]
    assert "killed" in positive[killed].question
    swap = by_why[(killed, "verb_swap")].question
    # Another counted or dated event's verb of the article ("treated", "opened"), the rest unchanged.
    head, verb = swap.rsplit(" ", 1)
    assert f"{head} killed" == positive[killed].question
    assert verb in {"treated", "opened", "signed"}
    noun = by_why[(killed, "noun_swap")].question
    assert "firefighters" not in noun and noun.replace(noun.split()[-2], "firefighters") == positive[killed].question
    # The same question over the article's other count of firefighters, for another event.
    other = next(p for p in pairs if p.why == "other_sentence" and p.question == positive[killed].question)
    assert other.sentence == ARTICLE[0] and other.label == 0.0


def test_a_done_count_asked_over_a_goal_is_a_negative_and_the_goal_asked_as_one_a_positive(pairs: list[Pair]) -> None:
    over_goal = [p for p in pairs if p.sentence == ARTICLE[2] and "children" in p.question]
    assert {(p.why, p.label) for p in over_goal} == {("goal", 0.0), ("positive", 1.0)}
    assert any("aim to vaccinate" in p.question for p in over_goal if p.label == 1.0)
    assert all("aim" not in p.question for p in over_goal if p.label == 0.0)


def test_dates_speakers_and_reports(pairs: list[Pair]) -> None:
    report = [p for p in pairs if p.sentence == ARTICLE[3] and p.kind == "date"]
    assert [(p.why, p.label) for p in report] == [("reporting_date", 0.0)]
    assert "repair" in report[0].question
    say = [p for p in pairs if p.kind == "say" and p.sentence == ARTICLE[6]]
    assert {(p.why, p.label) for p in say} == {("positive", 1.0), ("other_speaker", 0.0)}
    positive = next(p for p in say if p.label == 1.0)
    swapped = next(p for p in say if p.label == 0.0)
    assert ("Smith" in positive.question) and ("Tom Brown" in swapped.question)
    # The publisher's own sentence about the stadium: the topic is there, Jane Smith's words are not.
    unattributed = [p for p in pairs if p.why == "unattributed"]
    assert all(p.label == 0.0 and p.sentence == ARTICLE[8] for p in unattributed)


def test_generation_is_deterministic(pairs: list[Pair]) -> None:
    assert _pairs() == pairs
    assert {p.label for p in pairs} == {0.0, 1.0}


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("Sen. Charles Grassley, R-Iowa", "Charles Grassley"),
        ("GOP frontrunner Donald Trump", "Donald Trump"),
        ("Joel Pollak of Breitbart California", "Joel Pollak"),
        ("a campaign spokesman", None),
        ("he", None),
        ("This phony fact check", None),
        (None, None),
    ],
)
def test_a_gold_source_is_named_as_a_question_would_name_it(source: str | None, name: str | None) -> None:
    assert clean_source(source) == name


def _write_article(folder: Path, stem: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.md").write_text(f"---\ntitle: {stem}\npublisher: Test\n---\n{body}\n", encoding="utf-8")


def test_articles_of_labelled_questions_are_never_read_and_the_pairs_are_cached(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    body = "\n\n".join(ARTICLE)
    _write_article(corpus, "free", body)
    _write_article(corpus, "labelled", body)
    quote = ARTICLE[6]
    start = body.index(quote)
    gold = tmp_path / "gold.jsonl"
    rows = [
        {
            "article": stem,
            "source": "Mayor Jane Smith",
            "source_is_pronoun": False,
            "cue": "said",
            "content": quote,
            "content_start": start,
            "content_end": start + len(quote),
            "content_spans": [[start, start + len(quote)]],
        }
        for stem in ("free", "labelled")
    ]
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    questions = tmp_path / "train_x.jsonl"
    questions.write_text(json.dumps({"id": "x-1", "article": "labelled", "q": "?", "kind": "fact"}) + "\n")
    exclude = slot_pairs.used_articles([questions])
    assert exclude == {"labelled"}
    made, path = slot_pairs.cached_pairs(corpus, gold, exclude, tmp_path / "cache")
    assert made and {p.article for p in made} == {"free"}
    assert any(p.kind == "say" and "Smith" in p.question for p in made)
    again, same = slot_pairs.cached_pairs(corpus, gold, exclude, tmp_path / "cache")
    assert same == path and again == made


def _trainer() -> Any:
    return benchmark_module("train_cross_encoder", "scripts")


def test_init_from_starts_from_the_pretrained_weights(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    trainer = _trainer()
    pretrained = trainer.new_model(layers=1, max_length=32, seed=3)
    with torch.no_grad():
        pretrained.model.classifier.weight.fill_(0.5)
    torch.save(pretrained.model.state_dict(), tmp_path / trainer.PRETRAINED_STATE)
    (tmp_path / trainer.PRETRAINED_META).write_text(json.dumps({"layers": 1, "max_length": 32}), encoding="utf-8")
    fresh = trainer.new_model(layers=1, max_length=32, seed=4)
    started = trainer.new_model(layers=1, max_length=32, seed=4, init_from=tmp_path)
    assert not torch.equal(fresh.model.classifier.weight, pretrained.model.classifier.weight)
    for name, value in pretrained.model.state_dict().items():
        assert torch.equal(started.model.state_dict()[name], value), name
    assert not started.model.base_model.embeddings.word_embeddings.weight.requires_grad
    assert trainer.pretrained_meta(None) is None
    with pytest.raises(SystemExit):
        trainer.new_model(layers=2, max_length=32, init_from=tmp_path)
