"""The terminal chat (`make run` without a token) and `python -m bot`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.terminal import chat
from tests.conftest import run_script


def converse(engine: Engine, *lines: str) -> str:
    out = io.StringIO()
    assert chat(engine, io.StringIO("\n".join(lines) + "\n"), out) == 0
    return out.getvalue()


def test_question_more_context_sources_who(engine: Engine):
    text = converse(
        engine,
        "How many Russian air strikes were counted over Idlib and Hama?",
        "/more",
        "/context",
        "/sources",
        "/who SOHR",
        "/who",
        "/nonsense",
        "/quit",
        "never read",
    )
    assert "«Over 40 air strikes showered over Idlib and Hama on Wednesday only, SOHR confirmed on Thursday.»" in text
    assert "4. «" in text  # /more continues the numbering after the first three
    assert "¶11 " in text and "¶13 " in text  # /context: the paragraph and its neighbours
    assert "Syrian regime initiates second Russian-backed offensive · 8 Oct 2015 (18 passages)" in text
    assert "Eyewitnesses and locals: 1" in text
    assert "Unknown command /nonsense" in text
    assert "never read" not in text


def test_unanswerable_question_is_said_plainly(engine: Engine):
    text = converse(engine, "How do I reset my router?")
    assert "The report does not answer this" in text and "related, not an answer" in text


def test_commands_before_a_question(engine: Engine):
    text = converse(engine, "/more", "/context")
    assert text.count("Ask a question first.") == 2


@pytest.mark.slow
def test_python_m_bot_without_token_answers_from_stdin(seed_index: Path):
    result = run_script(
        "-m",
        "bot",
        stdin="How many Russian air strikes were counted over Idlib and Hama?\n",
        env={"INDEX_DIR": str(seed_index), "TELEGRAM_BOT_TOKEN": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "SOHR confirmed on Thursday.»" in result.stdout
    assert "— SOHR (Syrian Observatory for Human Rights)" in result.stdout
    assert "Syrian regime initiates second Russian-backed offensive" in result.stdout
