"""One contract, both backends: the same index answers the same on FAISS + SQLite and on Milvus.

The seed and the multi-article corpus are built once (the session's embedded indexes) and copied
to the test's Milvus server; then the dev and multi questions are asked of both engines. Also:
articles added and removed reach a running Milvus engine, answers survive a server restart, and
two processes answer from one server at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.errors import IndexUnavailable
from bot.index.milvus.sync import sync_settings
from bot.settings import Settings
from tests.conftest import ROOT, SHARED, dev_questions
from tests.milvus.conftest import MilvusServer, free_port

MULTI_QUESTIONS = ROOT / "tests" / "data" / "multi_questions.jsonl"


def milvus_settings(server: MilvusServer, prefix: str, index: Path, **extra: object) -> Settings:
    return Settings(
        _env_file=None,
        index_dir=index,
        search_backend="milvus",
        milvus_uri=server.uri,
        milvus_collection_prefix=prefix,
        **extra,
    )


@pytest.fixture(scope="session")
def milvus_seed(milvus_server: MilvusServer, seed_index: Path, embedder: Embedder) -> Iterator[Engine]:
    settings = milvus_settings(milvus_server, "contract_seed", seed_index)
    sync_settings(settings, seed_index, full=True)
    yield Engine(settings, embedder=embedder)


@pytest.fixture(scope="session")
def milvus_multi(milvus_server: MilvusServer, multi_index: Path, embedder: Embedder) -> Iterator[Engine]:
    settings = milvus_settings(milvus_server, "contract_multi", multi_index)
    sync_settings(settings, multi_index, full=True)
    yield Engine(settings, embedder=embedder)


def figures(engine: Engine, questions: list[dict]) -> tuple[dict[str, float], list[list[int]]]:
    """hit@1, hit@3 and negatives declined (as evaluate.py counts them), and each answer's top-3 passages."""
    hit1 = hit3 = declined = 0
    tops: list[list[int]] = []
    for item in questions:
        answer = engine.answer(item["q"], 3)
        tops.append([q.passage_id for q in answer.quotes[:3]])
        if item.get("negative"):
            declined += not answer.answered
            continue
        rank = next((i for i, q in enumerate(answer.quotes) if any(e in q.text for e in item["expect"])), None)
        hit1 += rank == 0
        hit3 += rank is not None and rank < 3
    return {"hit@1": hit1, "hit@3": hit3, "negatives declined": declined}, tops


def assert_same_answers(embedded: Engine, milvus: Engine, questions: list[dict]) -> None:
    ours, our_tops = figures(embedded, questions)
    theirs, their_tops = figures(milvus, questions)
    assert theirs == ours
    overlap = [len(set(a) & set(b)) / max(1, len(a)) for a, b in zip(our_tops, their_tops, strict=True)]
    assert sum(overlap) / len(overlap) >= 0.9


@pytest.mark.skipif(not (SHARED / "dev_questions.jsonl").exists(), reason="../shared not beside the checkout")
def test_dev_questions_get_the_same_answers_on_milvus(engine: Engine, milvus_seed: Engine):
    """Dev questions on Milvus: hit@1, hit@3 and negatives declined as embedded; top-3 overlap >= 0.9."""
    assert_same_answers(engine, milvus_seed, dev_questions())


def test_multi_questions_get_the_same_answers_on_milvus(multi_index: Path, embedder: Embedder, milvus_multi: Engine):
    """The 55 multi-article questions: the same hit@1, hit@3, negatives and >= 0.9 top-3 overlap as embedded."""
    embedded = Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)
    questions = [json.loads(line) for line in MULTI_QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    assert_same_answers(embedded, milvus_multi, questions)


def test_quotes_speakers_and_views_are_the_embedded_ones(engine: Engine, milvus_seed: Engine):
    """Quotes, speakers, /who, /sources, publishers, examples, context and counts equal the embedded ones."""
    question = "How many Russian air strikes were counted over Idlib and Hama?"
    ours, theirs = engine.answer(question), milvus_seed.answer(question)
    assert [(q.quote, q.speaker, q.article, q.paragraph) for q in theirs.quotes] == [
        (q.quote, q.speaker, q.article, q.paragraph) for q in ours.quotes
    ]
    assert theirs.quotes[0].speaker.name == "SOHR" and theirs.answered
    assert milvus_seed.speakers() == engine.speakers()
    assert [q.text for q in milvus_seed.quotes_by("sohr")] == [q.text for q in engine.quotes_by("sohr")]
    assert milvus_seed.articles() == engine.articles()
    assert milvus_seed.publishers() == engine.publishers()
    assert milvus_seed.example_questions() == engine.example_questions()
    pid = ours.quotes[0].passage_id
    assert milvus_seed.context(pid) == engine.context(pid)
    assert milvus_seed.about().counts == engine.about().counts


def test_articles_added_and_removed_reach_a_running_engine(
    milvus_server: MilvusServer, milvus_prefix: str, multi_copy: tuple[Path, Path], embedder: Embedder, monkeypatch
):
    """An article removed, then added back, by incremental copies is seen by an engine that keeps running."""
    monkeypatch.setattr("bot.index.milvus.STAMP_SECONDS", 0.0)
    corpus, index = multi_copy
    settings = milvus_settings(milvus_server, milvus_prefix, index)
    sync_settings(settings, index)
    engine = Engine(settings, embedder=embedder)
    question = "How many people were killed in the floods?"

    def quoted() -> bool:
        return any("At least 23 people were killed" in q.text for q in engine.answer(question).quotes)

    assert quoted()
    assert engine.article_passages("flood")

    moved = corpus.parent / "flood.txt"
    (corpus / "flood.txt").rename(moved)
    build_index(corpus, index, embedder)
    sync_settings(settings, index)
    assert engine.article_passages("flood") is None
    assert all(q.article.id != "flood" for q in engine.answer(question).quotes)

    moved.rename(corpus / "flood.txt")
    build_index(corpus, index, embedder)
    sync_settings(settings, index)
    assert quoted()


def test_answers_survive_a_server_restart(milvus_server: MilvusServer, milvus_seed: Engine, monkeypatch):
    """Milvus stopped: a one-line IndexUnavailable, no traceback; restarted: the same engine gives the same answers."""
    monkeypatch.setattr("bot.index.milvus.STAMP_SECONDS", 0.0)
    question = "What did Eyewitnesses and locals say?"
    before = milvus_seed.answer(question)
    milvus_server.stop()
    with pytest.raises(IndexUnavailable) as err:  # while it is down: one line, not a traceback
        milvus_seed.answer(question)
    assert "\n" not in str(err.value)
    milvus_server.start()
    after = milvus_seed.answer(question)  # the same engine recovers by itself
    assert [(q.quote, q.speaker) for q in after.quotes] == [(q.quote, q.speaker) for q in before.quotes]


def test_two_processes_answer_from_one_server_at_once(milvus_server: MilvusServer, milvus_seed: Engine, tmp_path):
    """Two query.py --batch processes against one Milvus at once both print the answers one engine gives."""
    questions = [q for q in dev_questions()][:8] if (SHARED / "dev_questions.jsonl").exists() else []
    questions = questions or [{"id": "q1", "q": "How many Russian air strikes were counted over Idlib and Hama?"}]
    batch = "".join(json.dumps({"id": q["id"], "q": q["q"]}) + "\n" for q in questions)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SEARCH_BACKEND": "milvus",
        "MILVUS_URI": milvus_server.uri,
        "MILVUS_COLLECTION_PREFIX": "contract_seed",
        "INDEX_DIR": str(tmp_path / "no-local-index"),  # answers come from Milvus alone
    }
    command = [sys.executable, "scripts/query.py", "--json", "--batch"]
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [w.communicate(batch, timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    expected = [[p.text for p in milvus_seed.answer(q["q"], 3).quotes] for q in questions]
    for out in outputs:
        rows = [json.loads(line) for line in out.splitlines()]
        assert [[p["text"] for p in row["passages"]] for row in rows] == expected


def test_an_unreachable_server_is_one_line_and_the_cli_exits_1(seed_index: Path, embedder: Embedder):
    """No Milvus at MILVUS_URI: one line naming it from the engine; query.py says so and exits 1."""
    dead = f"http://127.0.0.1:{free_port()}"
    engine = Engine(
        Settings(_env_file=None, search_backend="milvus", milvus_uri=dead, milvus_timeout_seconds=2), embedder=embedder
    )
    with pytest.raises(IndexUnavailable) as err:
        engine.answer("Who said it?")
    assert "\n" not in str(err.value) and f"cannot reach Milvus at {dead}" in str(err.value)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SEARCH_BACKEND": "milvus",
        "MILVUS_URI": dead,
        "MILVUS_TIMEOUT_SECONDS": "2",
    }
    result = subprocess.run(
        [sys.executable, "scripts/query.py", "Who said it?"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith(f"error: cannot reach Milvus at {dead}")
    assert "Traceback" not in result.stderr


def test_build_add_and_query_scripts_work_on_milvus(milvus_server: MilvusServer, milvus_prefix: str, tmp_path: Path):
    """The commands of issue 14's "done when", as a user runs them, against the test's server."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "port-strike.md").write_text((ROOT / "tests/data/multi/port-strike.md").read_text(encoding="utf-8"))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "SEARCH_BACKEND": "milvus",
        "MILVUS_URI": milvus_server.uri,
        "MILVUS_COLLECTION_PREFIX": milvus_prefix,
        "CORPUS_DIR": str(corpus),
        "INDEX_DIR": str(tmp_path / "index"),
    }

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=300
        )

    built = run("scripts/build_index.py", "--quiet")
    assert built.returncode == 0, built.stderr
    assert "milvus: published version v" in built.stdout and f"at {milvus_server.uri} (1 articles added" in built.stdout
    added = run("scripts/add_article.py", "--quiet", str(ROOT / "tests/data/multi/flood.txt"))
    assert added.returncode == 0, added.stderr
    assert "milvus: updated version" in added.stdout and "(1 articles added, 0 removed)" in added.stdout
    asked = run(
        "scripts/query.py", "--json", "--batch", stdin='{"id": 1, "q": "How many people were killed in the floods?"}\n'
    )
    assert asked.returncode == 0, asked.stderr
    row = json.loads(asked.stdout)
    assert any("At least 23 people were killed" in p["text"] for p in row["passages"])
