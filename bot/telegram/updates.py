"""The one place python-telegram-bot's Optionals are narrowed, and `bot_data` is read with its types.

python-telegram-bot types every part of an `Update` as optional (`effective_message`,
`callback_query`, `inline_query`...) because one class carries every kind of update. Each handler
is registered for updates that do carry the part it reads (`app.build_application`: a
`CallbackQueryHandler` only sees button presses, a `MessageHandler` only messages), so a missing
part is a wiring mistake, not something a user can cause: `Missing` is raised and the error handler
logs it. `bot_data` is a plain dict; the helpers here check what `app.build_application` put in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from telegram import CallbackQuery, Chat, InlineQuery, Message, Update
from telegram.ext import ContextTypes

from bot.engine import Engine
from bot.telegram.access import Access
from bot.telegram.flood import FloodGuard
from bot.telegram.reloads import Reloads
from bot.telegram.shared import SharedState

if TYPE_CHECKING:
    from telegram.ext import Application, ExtBot, JobQueue, Updater

Context: TypeAlias = ContextTypes.DEFAULT_TYPE
#: What `app.build_application` builds: `ExtBot[int]` because of the rate limiter's int arguments.
App: TypeAlias = "Application[ExtBot[int], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any], JobQueue[Context]]"

T = TypeVar("T")


class Missing(RuntimeError):
    """A handler got an update without the part it is registered for (a wiring mistake)."""


def _present(value: T | None, what: str) -> T:
    if value is None:
        raise Missing(f"the update has no {what}: the handler is registered for updates that carry one")
    return value


def message(update: Update) -> Message:
    """The message of a command or text update (or the message a button sits under)."""
    return _present(update.effective_message, "message")


def chat(update: Update) -> Chat:
    """The chat a message or button press happened in."""
    return _present(update.effective_chat, "chat")


def callback_query(update: Update) -> CallbackQuery:
    """The button press of a `CallbackQueryHandler`'s update."""
    return _present(update.callback_query, "callback query")


def inline_query(update: Update) -> InlineQuery:
    """The `@bot question` of an `InlineQueryHandler`'s update."""
    return _present(update.inline_query, "inline query")


def updater(app: App) -> Updater:
    """The application's updater (None only when built with `.updater(None)`, which `app` never does)."""
    return _present(app.updater, "updater")


def _typed(context: Context, key: str, kind: type[T]) -> T:
    value = context.bot_data[key]
    if not isinstance(value, kind):
        raise Missing(f"bot_data[{key!r}] is a {type(value).__name__}, not a {kind.__name__}")
    return value


def engine(context: Context) -> Engine:
    """The engine `app.build_application` was given."""
    return _typed(context, "engine", Engine)


def access(context: Context) -> Access:
    """The allowlist and the admins."""
    return _typed(context, "access", Access)


def flood(context: Context) -> FloodGuard:
    """The per-user flood guard."""
    return _typed(context, "flood", FloodGuard)


def reloads(context: Context) -> Reloads:
    """The worker's side of /reload across workers."""
    return _typed(context, "reloads", Reloads)


def state(context: Context) -> SharedState:
    """The state the bot's workers share (handled updates, flood counts, answers behind buttons)."""
    return _typed(context, "state", SharedState)
