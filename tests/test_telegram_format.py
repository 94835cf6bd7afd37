"""The Telegram HTML formatter and splitter, and the Telegram settings, without the network."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.settings import Settings
from bot.telegram.format import MAX_MESSAGE, answer_blocks, pack, split_html, tg_len
from bot.telegram.keyboards import Asked, answer_keyboard, parse

_ALLOWED = {"b", "i", "u", "s", "code", "pre", "a", "blockquote"}


def check_html(text: str) -> None:
    """Telegram's subset only, balanced and nested; no stray `<` or bare `&`."""
    stack: list[str] = []
    for m in re.finditer(r"<(/?)([a-z-]+)[^>]*>|<|&(?!(?:amp|lt|gt|quot|#x27|#\d+);)", text):
        assert m.group(2), f"stray markup at {m.start()}: {text[m.start() : m.start() + 20]!r}"
        assert m.group(2) in _ALLOWED
        if m.group(1):
            assert stack and stack.pop() == m.group(2)
        else:
            stack.append(m.group(2))
    assert not stack


def test_answer_html_is_valid_and_quotes_best_sentence_in_bold(engine):
    answer = engine.answer("How many Russian air strikes were counted over Idlib and Hama?")
    (message,) = pack(answer_blocks(answer))
    check_html(message)
    assert f"<b>{answer.quotes[0].quote}</b>" in message
    assert message.count("— <i>") == 3


def test_unanswered_is_related_not_an_answer(engine):
    answer = engine.answer("How do I reset my router?")
    assert not answer.answered
    text = pack(answer_blocks(answer))[0]
    assert "does not answer" in text and "related, not an answer" in text and "<blockquote>" not in text


def test_split_keeps_tags_balanced_and_entities_whole():
    body = " ".join(f"word{i} &amp; &lt;tag&gt;" for i in range(2000))
    html = f"<b>Title</b>\n<blockquote>{body} <b>bold {body}</b> tail</blockquote>"
    parts = split_html(html, 500)
    assert len(parts) > 10
    for part in parts:
        assert tg_len(part) <= 500
        check_html(part)
    assert re.sub(r"<[^>]+>|\s+", "", "".join(parts)) == re.sub(r"<[^>]+>|\s+", "", html)


def test_pack_never_exceeds_the_limit_and_counts_utf16():
    blocks = ["😀" * 3000, "x" * 100, "<i>" + "y " * 3000 + "</i>"]
    for message in pack(blocks):
        assert tg_len(message) <= MAX_MESSAGE
        check_html(message)
    assert tg_len("😀") == 2


@given(st.lists(st.text(alphabet=st.sampled_from("ab <&>\"'\n"), min_size=1, max_size=300), min_size=1, max_size=8))
def test_escaped_text_always_splits_into_valid_html(texts):
    from html import escape

    blocks = [f"<b>{escape(t)}</b> {escape(t)}" for t in texts]
    for message in pack(blocks, 120):
        assert tg_len(message) <= 120
        check_html(message)


def test_callback_data_is_small_and_parsed_strictly(engine):
    answer = engine.answer("Is the Russian navy involved?")
    asked = Asked("q", tuple(answer.quotes), 3, "v")
    for row in answer_keyboard(asked).inline_keyboard:
        for button in row:
            assert len(button.callback_data.encode()) <= 64
            assert parse(button.callback_data) is not None
    for forged in ("", "more", "more:-1", "ctx:1:2", "src:abc", "x" * 100, "more:1234567890123"):
        assert parse(forged) is None


def test_id_lists_parse_from_comma_separated_env(monkeypatch):
    monkeypatch.setenv("TELEGRAM_ALLOWED_IDS", "12, 34,-100123")
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "")
    s = Settings(_env_file=None)
    assert s.telegram_allowed_ids == [12, 34, -100123]
    assert s.telegram_admin_ids == []
    assert s.telegram_webhook_url is None
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "7")
    assert Settings(_env_file=None).telegram_admin_ids == [7]
