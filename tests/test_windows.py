"""A long paragraph's windows as answers: neighbours fold into one, windows further apart do not."""

from __future__ import annotations

import itertools
from pathlib import Path

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.retrieval.question import analyse
from bot.settings import Settings

# One block of lines with no blank line between them, as many PolNeAR articles are: the whole
# body is one paragraph, cut into overlapping windows of about 120 words.
LINES = [
    "The town council of Millbrook met on Tuesday evening to vote on the budget for the coming year, "
    "and the meeting ran for almost four hours in the old town hall on Main Street.",
    "Councillors approved spending of 4.2 million dollars on road repairs, the largest single item, "
    "after residents complained for years about potholes on the northern ring road.",
    "The library will close for six weeks in the summer while workers replace its roof, which has "
    "leaked since a storm damaged it two winters ago, the council said.",
    "Parents asked the council to keep the public swimming pool open on Sundays, and the mayor promised "
    "to look for the money before the pool season starts in June.",
    "The fire brigade will get two new engines next spring, paid for by a grant from the regional "
    "government that the fire chief applied for last autumn.",
    "A plan to build 300 homes on the old brick factory site was postponed because the developer has "
    "not yet finished a study of flood risk along the river.",
    "Volunteers planted 1,200 oak trees in the riverside park last month, and the council will pay for "
    "watering them through their first two summers.",
    "The next council meeting will be held on the first Tuesday of next month, when the councillors "
    "will discuss the plans for the new bus station near the market square.",
]


def test_windows_far_apart_in_one_paragraph_are_answers_of_their_own(tmp_path: Path, embedder: Embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = "\n".join(LINES)
    (corpus / "council.md").write_text(
        f"---\ntitle: Millbrook council sets its budget\npublisher: Test Gazette\ndate: 2024-05-02\n---\n\n{body}\n",
        encoding="utf-8",
    )
    build_index(corpus, tmp_path / "index", embedder)
    engine = Engine(Settings(_env_file=None, index_dir=tmp_path / "index"), embedder=embedder)
    body_windows = sorted(
        p.id
        for p in engine.reader.passages(sorted(engine.reader.article_passage_ids(1))).values()
        if p.kind == "paragraph"
    )
    assert len(body_windows) >= 3  # one paragraph, cut into windows (ids in reading order)
    question = "What will the council pay for?"
    ranked, _ = engine.candidates(engine.reader, question, 10, analyse(question))
    taken = sorted(body_windows.index(s.passage_id) for s in ranked if s.passage_id in body_windows)
    # Several windows of the one paragraph answer, but never two neighbours (they share a sentence).
    assert len(taken) >= 2
    assert all(b - a >= 2 for a, b in itertools.pairwise(taken))
    # The fact of the last window is found among the answers, not folded into the first.
    answer = engine.answer("How many oak trees were planted in the riverside park?", 5)
    assert "1,200 oak trees" in answer.quotes[0].quote
