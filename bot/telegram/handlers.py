"""Thin async handlers: each asks the engine (off the event loop) and formats what it gets.

The engine, the access rules and the shared state live in `application.bot_data` (set by
`app.build_application`), read with their types through `bot/telegram/updates.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import AsyncIterator

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError

from bot.engine import LIST_ARTICLES, LIST_SPEAKERS, Engine
from bot.errors import IndexUnavailable, ReportBotError
from bot.retrieval.answers import Answer
from bot.telegram import format as fmt
from bot.telegram import updates as u
from bot.telegram.gate import addressed, strip_mention
from bot.telegram.keyboards import Asked, answer_keyboard, parse, recall, remember
from bot.telegram.updates import Context
from bot.text.wording import Wording

log = logging.getLogger(__name__)

#: Commands registered with setMyCommands, in menu order.
COMMANDS = [
    ("ask", "Ask a question (in groups)"),
    ("sources", "The articles in the index"),
    ("who", "Quotes by a source, or all sources"),
    ("about", "Model, index build time and counts"),
    ("help", "How to use this bot"),
    ("start", "What this bot is, with example questions"),
]

HELP = """<b>Ask me about {the}</b> and I answer with {its} own words: a verbatim quote, who said it, \
and where it stands in the article. Nothing is made up; when {the} {does} not answer, I say so.

In a private chat, just send your question. In a group, use /ask <i>question</i>, mention me, \
or reply to one of my messages. Anywhere, type @{username} <i>question</i> to share a quote.

Under each answer: <b>More</b> (the next passages), <b>Context</b> (the whole paragraph and its \
neighbours), <b>Source</b> (the article's details).

/sources: each article in the index, with its date
/who [name]: the quotes by a source, or every source with its count
/about: the model and the index
/help: this message"""

#: Seconds between "typing…" actions: Telegram clears the indicator after 5 s.
TYPING_RENEW = 4.5


@contextlib.asynccontextmanager
async def typing(context: Context, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" until the block ends.

    The renewing task is told to stop and left to finish its last request; it is never cancelled.
    Cancelling a task in the middle of an httpx request leaves its pooled connection marked busy
    for good (encode/httpcore#1093, httpcore 1.0.9): under 50 chats at once those leaks filled the
    16-connection reply pool until no answer could be sent at all.
    """
    done = asyncio.Event()

    async def keep_typing() -> None:
        while not done.is_set():
            with contextlib.suppress(TelegramError):
                await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), TYPING_RENEW)

    # Application.create_task keeps a reference and lets Application.stop() wait for it.
    context.application.create_task(keep_typing(), name=f"typing:{chat_id}")
    try:
        yield
    finally:
        done.set()


async def send_blocks(
    message: Message, blocks: list[str], asked: Asked | None = None, more_left: bool = True
) -> Message | None:
    """Reply with the blocks packed into messages; the last one (None for no blocks) carries the buttons."""
    parts = fmt.pack(blocks)
    keyboard = answer_keyboard(asked, more_left) if asked else None
    sent = None
    for i, text in enumerate(parts):
        last = i == len(parts) - 1
        sent = await message.reply_html(
            text,
            reply_markup=keyboard if last else None,
            do_quote=message.chat.type != ChatType.PRIVATE and i == 0,
            disable_web_page_preview=True,
        )
    return sent


def help_html(words: Wording, username: str) -> str:
    """/help, worded for the index: "the report" for one article, "the articles" for several."""
    return HELP.format(
        the=words.the, its="its" if words.one else "their", does=words.does, username=html.escape(username)
    )


#: Article titles /start names (the newest); /sources has the rest.
START_TITLES = 5


async def start(update: Update, context: Context) -> None:
    """Say what the bot is, which articles it quotes, and three questions to try."""
    engine = u.engine(context)
    articles, examples, words = await asyncio.to_thread(
        lambda: (engine.articles(START_TITLES), engine.example_questions(3), engine.wording())
    )
    titles = "\n".join(
        f"• <b>{html.escape(meta.title)}</b> ({html.escape(meta.publisher or 'unknown publisher')})"
        for meta, _ in articles
    )
    if words.articles > len(articles):
        titles += f"\n… and {words.articles - len(articles)} more (/sources)"
    tries = "\n".join(f"• {html.escape(q)}" for q in examples)
    text = (
        f"I answer questions about {words.a} by quoting {'it' if words.one else 'them'} word for word, "
        f"with who said it and where. I never make anything up: when {words.the} {words.does} not answer, "
        f"I say so.\n\n<b>{words.The}:</b>\n{titles}\n\n<b>Try asking:</b>\n{tries}\n\n/help for everything else."
    )
    await send_blocks(u.message(update), [text])


async def help_command(update: Update, context: Context) -> None:
    """How to use the bot."""
    words = await asyncio.to_thread(u.engine(context).wording)
    await send_blocks(u.message(update), [help_html(words, context.bot.username or "bot")])


async def ask_command(update: Update, context: Context) -> None:
    """`/ask question`: answer the question (the way to ask in a group)."""
    message = u.message(update)
    question = (message.text or "").partition(" ")[2].strip()
    if not question:
        await message.reply_text("Usage: /ask <question>, for example /ask Who carried out the air strikes?")
        return
    await answer_question(message, context, question)


async def private_text(update: Update, context: Context) -> None:
    """In a private chat any text is a question."""
    message = u.message(update)
    await answer_question(message, context, message.text or "")


async def group_text(update: Update, context: Context) -> None:
    """In a group, answer only messages that mention the bot or reply to it; ignore other chatter."""
    message = u.message(update)
    if not addressed(message, context):
        return
    question = strip_mention(message, context).strip()
    if not question:
        words = await asyncio.to_thread(u.engine(context).wording)
        await message.reply_text(f"Ask me a question about {words.the}, for example: /ask What happened in Idlib?")
        return
    await answer_question(message, context, question)


async def answer_question(message: Message, context: Context, question: str) -> None:
    """Ask the engine off the event loop, reply with quotes and buttons, remember it for the buttons."""
    engine = u.engine(context)
    async with typing(context, message.chat_id):
        answer, version = await asyncio.to_thread(_ask, engine, question, None)
    shown = 1 + min(2, len(answer.quotes) - 1) if answer.answered and answer.quotes else len(answer.quotes)
    asked = Asked(question, tuple(answer.quotes[:shown]), shown, version)
    words = engine.wording()  # the reader _ask just used: a stat, no reopening
    sent = await send_blocks(message, fmt.answer_blocks(answer, 0, words), asked if answer.quotes else None)
    if sent is not None and answer.quotes:
        await remember(u.state(context), sent.chat_id, sent.message_id, asked)


def _ask(engine: Engine, question: str, k: int | None) -> tuple[Answer, str]:
    """Answer and the index version it came from (run in a worker thread)."""
    answer = engine.answer(question, k)
    return answer, engine.version


async def button(update: Update, context: Context) -> None:
    """More, Context or Source under an answer; stale or forged presses get a polite refusal."""
    query = u.callback_query(update)
    press = parse(query.data)
    message = query.message if isinstance(query.message, Message) else None
    asked = await recall(u.state(context), message.chat_id, message.message_id) if (press and message) else None
    if press is None or message is None or asked is None:
        await query.answer("This button has expired. Please ask the question again.", show_alert=True)
        return
    engine = u.engine(context)
    if press.action == "more":
        await query.answer()
        async with typing(context, message.chat_id):
            following = await asyncio.to_thread(engine.more, asked.question, press.number)
        extra = following.quotes
        more = Asked(asked.question, tuple(extra), press.number + len(extra), following.version)
        blocks = fmt.answer_blocks(following.answer, press.number, engine.wording())
        sent = await send_blocks(message, blocks, more if extra else None, not following.last)
        if sent is not None and extra:
            await remember(u.state(context), sent.chat_id, sent.message_id, more)
        return
    quote = asked.quote(press.number)
    if quote is None:
        await query.answer("That button does not belong to this answer. Please ask again.", show_alert=True)
        return
    if press.action == "src":
        await query.answer()
        passages = await asyncio.to_thread(engine.article_passages, quote.article.id)
        text = fmt.source_html(quote.article, quote.paragraph, quote.kind, passages)
        await send_blocks(message, [text])
        return
    rows, version = await asyncio.to_thread(lambda: (engine.context(quote.passage_id), engine.version))
    if version != asked.version:
        await query.answer("The index was rebuilt since this answer. Please ask again.", show_alert=True)
        return
    await query.answer()
    await send_blocks(message, fmt.context_blocks(rows, quote.paragraph, quote.article))


async def sources(update: Update, context: Context) -> None:
    """The articles in the index, with dates and passage counts."""
    engine = u.engine(context)
    articles, total, publishers = await asyncio.to_thread(
        lambda: (
            engine.articles(LIST_ARTICLES),
            engine.about().articles,
            engine.publishers(),
        )
    )
    await send_blocks(u.message(update), fmt.sources_blocks(articles, total, publishers))


async def who(update: Update, context: Context) -> None:
    """`/who name`: the quotes attributed to a source; `/who`: every source with its count."""
    engine = u.engine(context)
    name = " ".join(context.args or [])
    if name:
        quotes = await asyncio.to_thread(engine.quotes_by, name)
        await send_blocks(u.message(update), fmt.quotes_by_blocks(name, quotes))
    else:
        speakers, words, total = await asyncio.to_thread(
            lambda: (engine.speakers(LIST_SPEAKERS), engine.wording(), engine.speaker_count())
        )
        await send_blocks(u.message(update), fmt.speakers_blocks(speakers, words, total))


async def about(update: Update, context: Context) -> None:
    """The model, when the index was built, and what it holds."""
    engine = u.engine(context)
    m, decision, words = await asyncio.to_thread(lambda: (engine.about(), engine.decision(), engine.wording()))
    counts = ", ".join(f"{n} {name}" for name, n in sorted(m.counts.items()))
    text = (
        "<b>About this bot</b>\n"
        f"<b>Model:</b> {html.escape(m.model)} ({m.dimension} dimensions)\n"
        f"<b>Index built:</b> {html.escape(m.built_at)} in {m.build_seconds:.1f} s\n"
        f"<b>Index version:</b> {html.escape(m.version)}\n"
        f"<b>Articles:</b> {m.articles}\n"
        f"<b>Holds:</b> {html.escape(counts)}\n"
        f"<b>Answers:</b> {engine.settings.top_k} passages; decision model {html.escape(decision.model)}: "
        f"below a confidence of {decision.threshold:.2f} the bot says {words.the} {words.does} not answer."
    )
    await send_blocks(u.message(update), [text])


async def reload(update: Update, context: Context) -> None:
    """Admins only: re-open the index from disk, on every worker (`reloads.py`)."""
    if not u.access(context).is_admin(update):
        await u.message(update).reply_text("Only the bot's admins can reload the index.")
        return
    told = await u.reloads(context).reload_all()
    facts = await asyncio.to_thread(u.engine(context).about)
    counts = ", ".join(f"{n} {name}" for name, n in sorted(facts.counts.items()))
    others = " The other workers re-open it before their next update." if told and not u.state(context).private else ""
    await u.message(update).reply_text(f"Index re-opened: version {facts.version} ({counts}).{others}")


async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not know."""
    await u.message(update).reply_text("I don't know that command. Send /help for the ones I know.")


async def inline_query(update: Update, context: Context) -> None:
    """`@bot question` in any chat: the top quotes as results, each with its attribution."""
    query = u.inline_query(update)
    question = query.query.strip()
    if not question:
        await query.answer([], cache_time=300)
        return
    engine = u.engine(context)
    answer, _ = await asyncio.to_thread(_ask, engine, question, 5)
    words = engine.wording()
    related = "" if answer.answered else "Related, not an answer: "
    preface = "" if answer.answered else f"<i>Related to “{html.escape(question)}” (not answered by {words.the}):</i>\n"
    if answer.notice and "English" in answer.notice:
        preface = f"<i>({html.escape(answer.notice)})</i>\n" + preface

    def label(i: int) -> tuple[str, str]:
        """The title prefix and message preface of result i (the same verdict as the chat's)."""
        if i == 0 and answer.possibly_relevant:
            return "Possibly relevant: ", preface.replace("Related to", "Possibly relevant to")
        return related, preface

    results = [
        InlineQueryResultArticle(
            id=f"{i}-{q.passage_id}",
            title=f"{label(i)[0]}{q.speaker.label}"[:200],
            description=q.quote[:300],
            input_message_content=InputTextMessageContent(
                label(i)[1] + fmt.inline_html(q),
                parse_mode=ParseMode.HTML,
            ),
        )
        for i, q in enumerate(answer.quotes)
    ]
    await query.answer(results, cache_time=30)


async def on_error(update: object, context: Context) -> None:
    """Log the failure with the update, and tell the user briefly."""
    error = context.error
    if isinstance(error, ReportBotError):
        log.error("%s (%s) while handling %s", error, error.hint, update)
    else:
        log.error("error while handling %s", update, exc_info=error)
    if not isinstance(update, Update):
        return
    text = (
        "The index of the articles is unavailable right now; the bot's operator has been told."
        if isinstance(error, IndexUnavailable)
        else "Sorry, something went wrong on my side. Please try again."
    )
    with contextlib.suppress(TelegramError):
        if update.callback_query:
            await update.callback_query.answer(text, show_alert=True)
        elif update.inline_query:
            short = "The index is unavailable" if isinstance(error, IndexUnavailable) else "Something went wrong"
            button = InlineQueryResultsButton(short, start_parameter="unavailable")
            await update.inline_query.answer([], cache_time=0, is_personal=True, button=button)
        elif update.effective_message:
            await u.message(update).reply_text(text)
