"""The real bot, end to end, through the Bot API emulator: real Application, handlers, engine and index.

Emulator shims used here (all in emulator/launcher.js, none in the bot): sendChatAction,
setMyCommands, answerInlineQuery and answerCallbackQuery are stubs that record their calls, because
telegram-test-api does not implement them; inline queries are injected as raw updates, because it
has no client route for them.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re

import pytest
from conftest import BOT_ID, BOT_USERNAME, User, bot_settings, free_port, live_bot
from telegram.error import TelegramError

from bot.retrieval.decision import load_model
from bot.telegram.app import StartupFailed, build_application, initialize, running
from bot.telegram.format import MAX_MESSAGE, tg_len

pytestmark = pytest.mark.asyncio(loop_scope="session")

ANSWERED = "How many Russian air strikes were counted over Idlib and Hama?"
UNANSWERED = "Who won the Nobel Peace Prize in 2015?"


def text_of(reply: dict) -> str:
    return reply["message"]["text"]


def buttons(reply: dict) -> dict[str, str]:
    rows = (reply["message"].get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


async def test_start_names_the_report_and_three_questions_and_commands_are_registered(talk: User):
    (reply,) = await talk.ask("/start")
    text = text_of(reply)
    assert "Syrian regime initiates second Russian-backed offensive" in text
    examples = re.findall(r"^• (.+\?)$", text.split("Try asking:")[1], re.M)
    assert len(examples) == 3
    commands = (await talk.wait_call("setMyCommands"))[0]["params"]["commands"]
    assert {c["command"] for c in commands} == {"start", "help", "ask", "sources", "about", "who"}


async def test_an_example_question_from_start_is_answered(talk: User):
    (reply,) = await talk.ask("/start")
    example = re.findall(r"^• (.+\?)$", text_of(reply), re.M)[-1]
    (answer,) = await talk.ask(example)
    assert "<blockquote>" in text_of(answer) and "does not answer" not in text_of(answer)


async def test_question_answered_with_quote_speaker_source_and_buttons(talk: User):
    (reply,) = await talk.ask(ANSWERED)
    text = text_of(reply)
    assert (
        "<b>Over 40 air strikes showered over Idlib and Hama on Wednesday only, SOHR confirmed on Thursday.</b>" in text
    )
    assert "— <i>SOHR (Syrian Observatory for Human Rights)</i>" in text
    assert "TRT World · Syrian regime initiates second Russian-backed offensive · 8 Oct 2015 · ¶12" in text
    assert reply["message"]["parse_mode"] == "HTML"
    assert set(buttons(reply)) == {"More", "Context", "Source"}
    assert all(len(data.encode()) <= 64 for data in buttons(reply).values())
    assert await talk.calls("sendChatAction"), "no typing action"


async def test_more_context_and_source_buttons(talk: User):
    (reply,) = await talk.ask(ANSWERED)
    keys = buttons(reply)

    await talk.press(reply, keys["More"])
    (more,) = await talk.replies()
    assert re.search(r"^4\. «", text_of(more), re.M), text_of(more)
    assert "Over 40 air strikes" not in text_of(more)

    await talk.press(reply, keys["Context"])
    (context,) = await talk.replies()
    assert "<b>¶12</b> Over 40 air strikes showered" in text_of(context)
    assert "<i>¶11</i>" in text_of(context) and "<i>¶13</i>" in text_of(context)

    await talk.press(reply, keys["Source"])
    (source,) = await talk.replies()
    for expected in (
        "<b>Publisher:</b> TRT World",
        "<b>Date:</b> 8 Oct 2015",
        "<b>Quoted from:</b> ¶12",
        "not recorded",
    ):
        assert expected in text_of(source)
    answered = await talk.wait_call("answerCallbackQuery", 3)
    assert not any(c["params"].get("show_alert") for c in answered)


async def test_forged_and_stale_buttons_are_refused_politely(talk: User):
    (reply,) = await talk.ask(ANSWERED)
    (other,) = await talk.ask("/help")
    presses = [
        (reply, "ctx:99999", "does not belong"),  # a passage this answer never showed
        (reply, "rm -rf:/", "expired"),  # not our format at all
        (other, "more:3", "expired"),  # a message that never had buttons
    ]
    # One press at a time: the bot handles updates concurrently, so presses sent together may be
    # answered in any order (under load the one that reads the index answers last).
    for pressed, (message, data, says) in enumerate(presses, start=1):
        await talk.press(message, data)
        alert = (await talk.wait_call("answerCallbackQuery", pressed))[-1]["params"]
        assert alert.get("show_alert") and says in alert["text"], (data, alert)
    assert await talk.silence() == []


async def test_unanswerable_question_says_so_and_shows_related_only(talk: User):
    (reply,) = await talk.ask(UNANSWERED)
    text = text_of(reply)
    assert text.startswith("The report does not answer this question.")
    assert "related, not an answer" in text
    assert "<blockquote>" not in text


async def test_non_english_question_is_told_to_ask_in_english(talk: User):
    (reply,) = await talk.ask("Wie viele russische Luftangriffe gab es in Idlib?")
    text = text_of(reply)
    assert "questions must be asked in English" in text and "German" in text
    assert "<blockquote>" not in text  # not given as an answer
    await talk.inline("Сколько человек погибло?")
    (call,) = await talk.wait_call("answerInlineQuery")
    results = call["params"]["results"]
    assert results and "English" in results[0]["input_message_content"]["message_text"]


async def test_group_answers_ask_mentions_and_replies_and_ignores_chatter(talk: User):
    group = -100500
    await talk.send("the weather is nice today", group)
    assert await talk.silence(group) == []

    (by_command,) = await talk.ask(f"/ask@{BOT_USERNAME} {ANSWERED}", group)
    assert "Over 40 air strikes" in text_of(by_command)

    mention = f"@{BOT_USERNAME} Who suggests that the Russian aircraft dropped cluster bombs?"
    entities = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    (by_mention,) = await talk.ask(mention, group, entities=entities)
    assert "Eyewitnesses and locals" in text_of(by_mention)

    bot_message = {
        "message_id": by_mention["messageId"],
        "date": 0,
        "chat": talk.chat(group),
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Report Bot", "username": BOT_USERNAME},
        "text": "earlier answer",
    }
    (by_reply,) = await talk.ask(
        "What does Lieutenant General Ayoub say the operation is for?", group, reply_to=bot_message
    )
    assert "liberate areas and towns" in text_of(by_reply)

    other_bot = {"type": "mention", "offset": 0, "length": 9}
    await talk.send("@OtherBot what happened in Idlib?", group, entities=[other_bot])
    assert await talk.silence(group) == []


async def test_inline_query_offers_quotes_with_attribution(talk: User):
    await talk.inline(ANSWERED)
    (call,) = await talk.wait_call("answerInlineQuery")
    results = call["params"]["results"]
    assert results and results[0]["type"] == "article"
    assert results[0]["title"] == "SOHR (Syrian Observatory for Human Rights)"
    content = results[0]["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert "«Over 40 air strikes" in content["message_text"] and "— <i>SOHR" in content["message_text"]


async def test_allowlist_refuses_messages_buttons_and_inline(emulator, engine):
    async with live_bot(emulator, engine, telegram_allowed_ids=[1]) as (stranger, _):
        (reply,) = await stranger.ask(ANSWERED)
        assert "this bot is private" in text_of(reply) and str(stranger.id) in text_of(reply)
        await stranger.press({"messageId": 1, "message": {"chat_id": stranger.id, "text": "x"}}, "more:3")
        (refusal,) = await stranger.wait_call("answerCallbackQuery")
        assert refusal["params"]["show_alert"] and "private" in refusal["params"]["text"]
        await stranger.inline(ANSWERED)
        (inline,) = await stranger.wait_call("answerInlineQuery")
        assert inline["params"]["results"] == []
        await stranger.send("chatter in a group the bot is in", -100600)
        assert await stranger.silence(-100600) == []
        assert not await stranger.calls("sendChatAction"), "the engine ran for a refused user"


async def test_allowed_user_and_admin_reload(emulator, engine):
    async with live_bot(emulator, engine, user_id=4242, telegram_allowed_ids=[4242]) as (user, _):
        (answer,) = await user.ask(ANSWERED)
        assert "Over 40 air strikes" in text_of(answer)
        (refused,) = await user.ask("/reload")
        assert "Only the bot's admins" in text_of(refused)
    async with live_bot(emulator, engine, user_id=4343, telegram_allowed_ids=[4242], telegram_admin_ids=[4343]) as (
        admin,
        _,
    ):
        (reloaded,) = await admin.ask("/reload")
        assert text_of(reloaded).startswith("Index re-opened: version ")


async def test_sources_who_about_and_unknown_command(talk: User):
    (sources,) = await talk.ask("/sources")
    assert "Syrian regime initiates second Russian-backed offensive" in text_of(sources)
    assert re.search(r"8 Oct 2015 · \d+ passages", text_of(sources))
    (speakers,) = await talk.ask("/who")
    assert re.search(r"• SOHR \(Syrian Observatory for Human Rights\): \d+", text_of(speakers))
    (sohr,) = await talk.ask("/who SOHR")
    assert "Over 40 air strikes" in text_of(sohr)
    (nobody,) = await talk.ask("/who Napoleon")
    assert "No quotes are attributed to “Napoleon”" in text_of(nobody)
    (about,) = await talk.ask("/about")
    assert "all-MiniLM-L6-v2" in text_of(about) and "<b>Index built:</b> 20" in text_of(about)
    decision = load_model()  # the fitted one: the test bot sets no ANSWER_THRESHOLD
    assert f"decision model {decision.version}: below a confidence of {decision.threshold:.2f}" in text_of(about)
    (unknown,) = await talk.ask("/frobnicate")
    assert "/help" in text_of(unknown)
    (empty,) = await talk.ask("/ask")
    assert text_of(empty).startswith("Usage: /ask")


async def test_corpus_text_with_markup_characters_is_escaped(emulator, odd_engine):
    async with live_bot(emulator, odd_engine) as (user, _):
        (reply,) = await user.ask("How much will the budget for schools and roads rise?")
        text = text_of(reply)
        assert "&lt;schools&gt; &amp; &quot;roads&quot;" in text
        assert "a rise of &lt; 20% &amp; more than &quot;expected&quot;" in text
        assert "Example &amp; Sons &lt;News&gt;" in text
        assert_telegram_html(text)
        await user.press(reply, buttons(reply)["Source"])
        (source,) = await user.replies()
        assert "Budget &lt;Report&gt; &amp; &quot;Quotes&quot;" in text_of(source)
        assert_telegram_html(text_of(source))


async def test_long_reply_is_split_under_the_limit_without_breaking_html(emulator, odd_engine):
    async with live_bot(emulator, odd_engine) as (user, _):
        (reply,) = await user.ask("At which gauge was the river rising and the bridge shut?")
        await user.press(reply, buttons(reply)["Context"])
        parts = await user.replies(n=2)
        # Under load the later parts come after the first two have been read: wait for the last
        # gauge (a fixed pause, and `replies(n=0)`, which returns at once, missed them).
        deadline = asyncio.get_running_loop().time() + 60
        while "At gauge 59 the river" not in " ".join(text_of(p) for p in parts):
            assert asyncio.get_running_loop().time() < deadline, [text_of(p)[-80:] for p in parts]
            parts += await user.silence(wait=0.2)
        assert len(parts) >= 2
        for part in parts:
            assert tg_len(text_of(part)) <= MAX_MESSAGE
            assert_telegram_html(text_of(part))
        joined = " ".join(re.sub(r"<[^>]+>", "", text_of(p)) for p in parts)
        assert "At gauge 0 the river" in joined and "At gauge 59 the river" in joined


async def test_token_never_appears_in_logs_at_any_level(emulator, engine):
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        settings = bot_settings(emulator, engine.index_dir)
        token = settings.telegram_bot_token.get_secret_value()
        app = build_application(engine, settings, poll_timeout=1)
        for name in ("httpx", "httpcore", "telegram"):  # even if someone turns the HTTP logs up
            logging.getLogger(name).setLevel(logging.DEBUG)
        import httpx

        async with httpx.AsyncClient() as http, running(app, settings):
            user = User(emulator, token, http)
            await user.ask(ANSWERED)
            try:
                raise TelegramError(f"simulated failure calling {emulator}/bot{token}/sendMessage")
            except TelegramError:
                logging.getLogger("bot.telegram").exception("while talking to %s", f"bot{token}")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger("telegram").setLevel(logging.NOTSET)
    logged = buffer.getvalue()
    assert "/bot<redacted>/getUpdates" in logged  # httpx did log the URLs, masked
    assert "simulated failure" in logged and "Traceback" in logged
    assert token not in logged
    assert token.split(":")[1] not in logged


async def test_second_instance_with_the_same_token_is_reported_and_stops_the_first(emulator, engine, caplog):
    settings = bot_settings(emulator, engine.index_dir)
    first = build_application(engine, settings, poll_timeout=5)
    second = build_application(engine, settings, poll_timeout=5)
    caplog.set_level(logging.ERROR, "bot.telegram")
    with pytest.raises(StartupFailed, match="another instance"):
        async with running(first, settings) as stopped:
            await asyncio.sleep(0.3)
            async with running(second, settings):
                await asyncio.wait_for(stopped.wait(), 30)
    assert "another instance of this bot is polling with the same token" in caplog.text


async def test_unreachable_api_is_retried_then_reported(engine, caplog):
    settings = bot_settings(f"http://127.0.0.1:{free_port()}", engine.index_dir)
    app = build_application(engine, settings)
    caplog.set_level(logging.WARNING, "bot.telegram")
    with pytest.raises(StartupFailed, match="did not answer after 3 attempts"):
        await initialize(app, attempts=3, first_wait=0.01)
    assert caplog.text.count("Bot API not reachable") == 2


async def test_webhook_mode_with_secret(emulator, engine):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    async with live_bot(
        emulator,
        engine,
        telegram_webhook_url=url,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
        telegram_webhook_secret="s3cret-value",
    ) as (user, _):
        (call,) = await user.calls("setWebhook")
        assert call["params"]["url"] == url and call["params"]["secret_token"] == "s3cret-value"
        (reply,) = await user.ask(ANSWERED)
        assert "Over 40 air strikes" in text_of(reply)


_ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"}


def assert_telegram_html(text: str) -> None:
    """Only Telegram's tags, balanced and properly nested; no stray `<` or unescaped `&`."""
    stack: list[str] = []
    for match in re.finditer(r"<(/?)([a-z-]+)[^>]*>|<|&(?!(?:amp|lt|gt|quot|#\d+|#x[0-9a-f]+);)", text):
        assert match.group(2), (
            f"stray markup character at {match.start()}: {text[match.start() : match.start() + 20]!r}"
        )
        name = match.group(2)
        assert name in _ALLOWED_TAGS, name
        if match.group(1):
            assert stack and stack.pop() == name, f"unbalanced </{name}>"
        else:
            stack.append(name)
    assert not stack, f"unclosed {stack}"
