"""What every update passes before a handler: once only, the allowlist, the flood limit, the index.

And who a group message is for. `current_index` re-opens the index an admin's /reload asked for.

Split from `handlers.py`: these run for every update (`app.build_application` registers `once`,
`gate` and `current_index` in groups -3, -2 and -1), the handlers only for the updates they answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

from telegram import InlineQueryResultsButton, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.telegram import updates as u
from bot.telegram.flood import Verdict
from bot.telegram.updates import Context

log = logging.getLogger(__name__)


async def once(update: Update, context: Context) -> None:
    """Handle each update once across all workers: a redelivered one is dropped before anything runs.

    Telegram resends a webhook call it saw no answer to, and the reverse proxy may hand the resend
    to another worker. The key is the update id and a hash of the update: Telegram may reuse an id
    after a week without updates (and the test emulator does after a restart), never with the same
    content.
    """
    digest = hashlib.sha256(update.to_json().encode()).hexdigest()[:32]
    state = u.state(context)
    key = f"{update.update_id}:{digest}"
    if not await state.attempt("handling the update without the duplicate check", True, state.first_time, key):
        log.info("update %s was delivered again; already handled", update.update_id)
        raise ApplicationHandlerStop


async def gate(update: Update, context: Context) -> None:
    """Refuse everyone not on the allowlist, and throttle floods, before any other handler runs."""
    if u.access(context).allows(update):
        await _throttle(update, context)
        return
    user = update.effective_user
    who = f" (your id is {user.id})" if user else ""
    text = f"Sorry, this bot is private{who}. Ask its owner to add you."
    log.info("refused update from user %s in chat %s", user.id if user else None, update.effective_chat)
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    elif update.inline_query:
        await update.inline_query.answer(
            [],
            cache_time=0,
            is_personal=True,
            button=InlineQueryResultsButton("This bot is private", start_parameter="private"),
        )
    elif update.effective_message and (
        u.chat(update).type == ChatType.PRIVATE or addressed(update.effective_message, context)
    ):
        await u.message(update).reply_text(text)
    raise ApplicationHandlerStop


async def _throttle(update: Update, context: Context) -> None:
    """Apply the per-user flood limit to what the bot would act on; stop the update when over it."""
    user = update.effective_user
    guard = u.flood(context)
    if user is None:
        return
    message = update.effective_message
    if update.message and u.chat(update).type != ChatType.PRIVATE and not addressed(update.message, context):
        return  # group chatter the bot ignores anyway is not counted
    verdict = await guard.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    log.info("throttled user %s (%s)", user.id, verdict.value)
    with contextlib.suppress(TelegramError):
        if update.callback_query:  # a toast, not a message: every press gets one
            await update.callback_query.answer(guard.notice, show_alert=False)
        elif update.inline_query:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        elif verdict is Verdict.NOTIFY and message is not None:
            await message.reply_text(guard.notice)
    raise ApplicationHandlerStop


async def current_index(update: Update, context: Context) -> None:
    """Re-open the index first when an admin's /reload, sent to any worker, asked for it (`reloads.py`)."""
    await u.reloads(context).catch_up()


def addressed(message: Message, context: Context) -> bool:
    """Whether a group message is meant for the bot: a reply to it, a mention, or a command."""
    reply = message.reply_to_message
    if reply and reply.from_user and reply.from_user.id == context.bot.id:
        return True
    if (message.text or "").startswith("/"):
        return True
    username = (context.bot.username or "").lower()
    for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == context.bot.id:
            return True
        if entity.type == MessageEntity.MENTION and text.lower() == f"@{username}":
            return True
    return False


def strip_mention(message: Message, context: Context) -> str:
    """The message text without the bot's @mention."""
    text = message.text or ""
    for mention in message.parse_entities([MessageEntity.MENTION]).values():
        if mention.lower() == f"@{(context.bot.username or '').lower()}":
            text = text.replace(mention, " ", 1)
    return " ".join(text.split())
