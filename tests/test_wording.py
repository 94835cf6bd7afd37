"""One wording everywhere: "the report" for one article, "the articles" for several (README, the
chat, the CLI and Telegram alike), from one helper, `bot.text.wording.wording`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.retrieval.answers import Answer
from bot.settings import Settings
from bot.telegram import format as fmt
from bot.telegram.handlers import help_html
from bot.terminal import chat, format_answer, help_text
from bot.text.wording import wording
from tests.conftest import ROOT, run_script

ANSWERED_SEED = "How many Russian air strikes were counted over Idlib and Hama?"
ANSWERED_MULTI = "How many dockworkers stopped work at Port Velmar?"


@pytest.fixture(scope="module")
def multi_engine(multi_index: Path, embedder: Embedder) -> Engine:
    return Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)


def test_the_helper_both_ways():
    one, five = wording(1), wording(5)
    assert (one.the, one.The, one.does, one.has, one.a, one.count()) == (
        "the report",
        "The report",
        "does",
        "has",
        "a news report",
        "1 article",
    )
    assert (five.the, five.The, five.does, five.has, five.a, five.count()) == (
        "the articles",
        "The articles",
        "do",
        "have",
        "news articles",
        "5 articles",
    )
    assert wording(0).the == "the articles"  # an empty index never claims to be one report


def test_every_face_words_an_answer_both_ways(engine: Engine, multi_engine: Engine):
    for eng, the, The, does in (
        (engine, "the report", "The report", "does"),
        (multi_engine, "the articles", "The articles", "do"),
    ):
        words = eng.wording()
        assert words.the == the
        answer = eng.answer(ANSWERED_SEED if eng is engine else ANSWERED_MULTI)
        assert answer.answered and len(answer.quotes) > 1
        assert f"Also in {the}:" in format_answer(answer, words)
        assert f"<b>Also in {the}:</b>" in fmt.answer_blocks(answer, 0, words)
        nothing = Answer(question="?", answered=False)
        assert f"{The} {'has' if the.endswith('report') else 'have'} nothing on this." in format_answer(nothing, words)
        refused = Answer(question="q", answered=False, quotes=answer.quotes)
        assert format_answer(refused, words).startswith(f"{The} {does} not answer this.")
        assert fmt.answer_blocks(refused, 0, words)[0].startswith(f"{The} {does} not answer this question.")
        assert f"Ask a question about {the}, or:" in help_text(words)
        assert f"<b>Ask me about {the}</b>" in help_html(words, "bot")
        assert f"when {the} {does} not answer" in help_html(words, "bot")
        other = "the articles" if the == "the report" else "the report"
        for text in (format_answer(answer, words), help_text(words), help_html(words, "bot")):
            assert other not in text
        assert all(
            q.startswith(f"What {does} {the} say about") or q.startswith("What did ") for q in eng.example_questions(3)
        )


def test_chat_says_the_articles_with_several(multi_engine: Engine, tmp_path: Path):
    out = io.StringIO()
    chat(multi_engine, io.StringIO(f"{ANSWERED_MULTI}\n/help\n"), out, log_file=tmp_path / "chat.log")
    text = out.getvalue()
    assert text.startswith("Ask about the articles (/help")
    assert "Also in the articles:" in text and "Ask a question about the articles" in text
    assert "the report" not in text


def test_chat_says_the_report_with_one(engine: Engine, tmp_path: Path):
    out = io.StringIO()
    chat(engine, io.StringIO(f"{ANSWERED_SEED}\n"), out, log_file=tmp_path / "chat.log")
    assert out.getvalue().startswith("Ask about the report (/help")
    assert "Also in the report:" in out.getvalue() and "the articles" not in out.getvalue()


@pytest.mark.slow
def test_cli_words_both_ways(seed_index: Path, multi_index: Path):
    one = run_script("scripts/query.py", "--index", str(seed_index), ANSWERED_SEED)
    several = run_script("scripts/query.py", "--index", str(multi_index), ANSWERED_MULTI)
    assert one.returncode == 0 and several.returncode == 0, one.stderr + several.stderr
    assert "Also in the report:" in one.stdout and "the articles" not in one.stdout
    assert "Also in the articles:" in several.stdout and "the report" not in several.stdout


def test_readme_states_the_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '"the report" for one article and "the articles" for several' in readme
