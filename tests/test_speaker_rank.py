"""The learned ranking for "What did X say?" (`bot/retrieval/speaker_rank.py`): shipped model and behaviour."""

from __future__ import annotations

import json
from pathlib import Path

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.retrieval.question import analyse
from bot.retrieval.speaker_rank import FEATURES, MODEL_FILE, candidate_features, load_model
from bot.settings import Settings


def test_shipped_model_is_versioned_fitted_on_train_and_beats_the_rule_it_replaced():
    data = json.loads(MODEL_FILE.read_text("utf-8"))
    model = load_model()
    assert model.version == data["version"] and set(model.features) <= set(FEATURES)
    fit = data["fit"]
    assert fit["trained_on"] and all("dev" not in name for name in fit["trained_on"])
    # Out of fold (grouped by article), the learned order puts X's words first more often than
    # "every passage quoting X first" did.
    assert fit["cv"]["learned"]["hit@1"] > fit["cv"]["speaker-first rule"]["hit@1"]


def test_the_speakers_own_words_come_before_a_passage_introducing_the_speaker(tmp_path: Path, embedder: Embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "stadium.md").write_text(
        "---\ntitle: Council backs riverside stadium\npublisher: Test Gazette\ndate: 2024-05-02\n---\n\n"
        "Maria Lopez, who leads the residents' group Greenfield Voice, has criticised the council for months "
        "over its plans for the riverside stadium.\n\n"
        "The council approved the stadium budget on Tuesday after a four-hour debate in the town hall.\n\n"
        '"This stadium will flood our streets with traffic and noise every single weekend," Lopez said at '
        "the meeting.\n\n"
        "The mayor said construction of the stadium would begin in March and take two years.\n",
        encoding="utf-8",
    )
    build_index(corpus, tmp_path / "index", embedder)
    engine = Engine(Settings(_env_file=None, index_dir=tmp_path / "index"), embedder=embedder)
    question = "What did Maria Lopez say about the stadium?"
    answer = engine.answer(question)
    assert "flood our streets" in answer.quotes[0].text
    shape = analyse(question)
    ranked, terms = engine.candidates(engine.reader, question, 5, shape)
    feats = candidate_features(engine.reader, ranked, shape.asked_speaker or "", terms)
    assert len(feats) == len(ranked) == 4  # every paragraph is a candidate
    assert feats[0]["score_gap"] == 0.0 and feats[0]["inverse_rank"] == 1.0
    quoted = next(f for s, f in zip(ranked, feats, strict=True) if s.passage_id == answer.quotes[0].passage_id)
    assert quoted["speaker_match"] == quoted["speaker_quoted"] == quoted["has_quotation"] == 1.0
    assert all(0.0 <= f["topic_coverage"] <= 1.0 for f in feats)
