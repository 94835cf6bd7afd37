"""Telegram's wording, end to end: "the report" over one article, "the articles" over several."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import live_bot

from bot.engine import Engine
from bot.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def multi_engine(multi_index: Path, embedder) -> Engine:
    return Engine(Settings(_env_file=None, index_dir=multi_index), embedder=embedder)


async def test_one_article_is_the_report(emulator: str, engine: Engine):
    async with live_bot(emulator, engine) as (user, _):
        (start,) = await user.ask("/start")
        text = start["message"]["text"]
        assert "I answer questions about a news report by quoting it" in text
        assert "<b>The report:</b>" in text and "when the report does not answer" in text
        assert "the articles" not in text
        (help_,) = await user.ask("/help")
        assert "<b>Ask me about the report</b>" in help_["message"]["text"]
        (answer,) = await user.ask("How many Russian air strikes were counted over Idlib and Hama?")
        assert "<b>Also in the report:</b>" in answer["message"]["text"]


async def test_several_articles_are_the_articles(emulator: str, multi_engine: Engine):
    async with live_bot(emulator, multi_engine) as (user, _):
        (start,) = await user.ask("/start")
        text = start["message"]["text"]
        assert "I answer questions about news articles by quoting them" in text
        assert "<b>The articles:</b>" in text and "when the articles do not answer" in text
        examples = re.findall(r"^• (.+\?)$", text.split("Try asking:")[1], re.M)
        assert len(examples) == 3 and any(q.startswith("What do the articles say about") for q in examples)
        assert "the report" not in text
        (help_,) = await user.ask("/help")
        assert "<b>Ask me about the articles</b>" in help_["message"]["text"]
        assert "the report" not in help_["message"]["text"]
        (answer,) = await user.ask("How many dockworkers stopped work at Port Velmar?")
        assert "<b>Also in the articles:</b>" in answer["message"]["text"]
        (refused,) = await user.ask("Who won the Nobel Peace Prize in 2015?")
        assert refused["message"]["text"].startswith("The articles do not answer this question.")
