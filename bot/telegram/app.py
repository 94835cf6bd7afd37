"""Wiring and running the Telegram bot: handlers, rate limiter, start-up retries, polling or webhook.

`build_application` wires everything into a python-telegram-bot `Application`; `running` starts it
(retrying a slow or unreachable API, registering the commands) and stops it cleanly; `run` is what
`python -m bot` calls. The tests drive the same `build_application` and `running`.

Every worker process (`python -m bot --workers N`, `bot/telegram/workers.py`) runs the same
application; what they must agree on (buttons, seen updates, flood counts, the send budget) is in
the shared state (`bot/telegram/shared.py`), and the periodic housekeeping runs on one of them only,
the holder of the leader lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.engine import Engine
from bot.errors import ConfigError, ReportBotError
from bot.settings import Settings
from bot.telegram import gate
from bot.telegram import handlers as h
from bot.telegram.access import Access
from bot.telegram.delivery import DeliveringRateLimiter
from bot.telegram.flood import FloodGuard
from bot.telegram.logs import protect
from bot.telegram.reloads import Reloads
from bot.telegram.shared import SharedState
from bot.telegram.updates import App, updater
from bot.telegram.workers import Leader, serving_file

log = logging.getLogger(__name__)

#: Seconds a long poll waits for updates at Telegram before it returns empty.
POLL_TIMEOUT = 30
#: Start-up attempts against an unreachable or slow API, with doubling waits capped at 30 s.
STARTUP_ATTEMPTS = 8
#: Updates handled at once; each question's embedding and search run in a worker thread.
CONCURRENT_UPDATES = 16
#: Seconds between two rounds of housekeeping on the shared state (and of claiming the lead).
HOUSEKEEPING_SECONDS = 300.0


class StartupFailed(ReportBotError):
    """The Bot API could not be reached, or refused the token, at start-up."""


def _token(settings: Settings) -> str:
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set", hint="put the token from @BotFather in .env")
    return token


def build_application(engine: Engine, settings: Settings, *, poll_timeout: int = POLL_TIMEOUT) -> App:
    """The bot: every handler wired to `engine`, with the rate limiter and the error handler."""
    token = _token(settings)
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    protect([token, secret])
    # The number before the colon is the bot's id: the shared state is refused to another bot.
    state = SharedState(settings.telegram_state_dir, bot_id=token.partition(":")[0])
    builder = (
        ApplicationBuilder()
        .token(token)
        # Replies and long polling on separate pools: a hanging getUpdates never starves a reply.
        .request(HTTPXRequest(connection_pool_size=16, connect_timeout=10, read_timeout=20, write_timeout=20))
        .get_updates_request(HTTPXRequest(connection_pool_size=1, connect_timeout=10, read_timeout=poll_timeout + 10))
        .rate_limiter(DeliveringRateLimiter(state, max_retries=3))
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    app = builder.build()
    app.bot_data["engine"] = engine
    app.bot_data["access"] = Access(frozenset(settings.telegram_allowed_ids), frozenset(settings.telegram_admin_ids))
    app.bot_data["poll_timeout"] = poll_timeout
    app.bot_data["state"] = state
    app.bot_data["flood"] = FloodGuard(state, settings.telegram_user_rate, settings.telegram_user_rate_seconds)

    app.bot_data["reloads"] = Reloads(state, engine)

    app.add_handler(TypeHandler(Update, gate.once), group=-3)
    app.add_handler(TypeHandler(Update, gate.gate), group=-2)
    app.add_handler(TypeHandler(Update, gate.current_index), group=-1)
    app.add_handler(CommandHandler("start", h.start))
    app.add_handler(CommandHandler("help", h.help_command))
    app.add_handler(CommandHandler("ask", h.ask_command))
    app.add_handler(CommandHandler("sources", h.sources))
    app.add_handler(CommandHandler("who", h.who))
    app.add_handler(CommandHandler("about", h.about))
    app.add_handler(CommandHandler("reload", h.reload))
    app.add_handler(CallbackQueryHandler(h.button))
    app.add_handler(InlineQueryHandler(h.inline_query))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, h.private_text))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, h.group_text))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, h.unknown_command))
    app.add_error_handler(h.on_error)
    return app


async def initialize(app: App, attempts: int = STARTUP_ATTEMPTS, first_wait: float = 1.0) -> None:
    """`app.initialize()` (getMe), retrying timeouts and network errors with backoff."""
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            await app.initialize()
            return
        except InvalidToken as exc:
            raise StartupFailed(
                "Telegram refused the bot token", hint="check TELEGRAM_BOT_TOKEN against @BotFather's /token"
            ) from exc
        except (TimedOut, NetworkError) as exc:
            if attempt == attempts:
                raise StartupFailed(
                    f"the Bot API did not answer after {attempts} attempts ({exc})",
                    hint="check the network, or TELEGRAM_BASE_URL if you set it",
                ) from exc
            log.warning("Bot API not reachable (%s); retrying in %.0f s (attempt %d/%d)", exc, wait, attempt, attempts)
            await asyncio.sleep(wait)
            wait = min(wait * 2, 30)


async def register_commands(app: App) -> None:
    """setMyCommands, so that Telegram's menu lists them; a failure is logged, not fatal."""
    try:
        await app.bot.set_my_commands([BotCommand(name, text) for name, text in h.COMMANDS])
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", exc)


async def housekeeping(state: SharedState, leader: Leader, window: float, every: float = HOUSEKEEPING_SECONDS) -> None:
    """On the worker that leads, prune the shared state now and then; the others try for the lead.

    Every worker tries each round, so that one of them takes over when the leader stops or dies.
    This is the one periodic job the bot has, and the place for any other: python-telegram-bot's
    JobQueue (its `job-queue` extra is not installed) would run in every worker.
    """
    while True:
        if leader.acquire():
            try:
                removed = await state.call(state.prune, window)
                log.debug("housekeeping: removed %s", removed)
            except Exception:  # never let housekeeping end the loop; the next round tries again
                log.exception("housekeeping of the shared state failed")
        await asyncio.sleep(every)


async def start_webhook(app: App, settings: Settings, state: SharedState) -> Path:
    """Serve the webhook (and register it); the `serving_file` that tells a supervisor this worker is up."""
    url = settings.telegram_webhook_url or ""
    secret = settings.telegram_webhook_secret
    if secret is None:
        log.warning("TELEGRAM_WEBHOOK_SECRET is not set: anyone who finds the webhook URL can post updates")
    await updater(app).start_webhook(
        listen=settings.telegram_webhook_listen,
        port=settings.telegram_webhook_port,
        url_path=urlparse(url).path.lstrip("/"),
        webhook_url=url,
        secret_token=secret.get_secret_value() if secret else None,
        allowed_updates=Update.ALL_TYPES,
        bootstrap_retries=3,
    )
    serving = serving_file(state.directory, settings.telegram_webhook_port)
    serving.write_text(f"{os.getpid()}\n", encoding="utf-8")
    log.info(
        "bot @%s started: webhook on %s, listening on %s:%d",
        app.bot.username,
        url,
        settings.telegram_webhook_listen,
        settings.telegram_webhook_port,
    )
    return serving


async def start_polling(app: App, stop: asyncio.Event, conflict: list[Conflict]) -> None:
    """Long-poll; another instance polling with the same token sets `stop` (and lands in `conflict`)."""

    def on_poll_error(exc: TelegramError) -> None:
        if isinstance(exc, Conflict):
            if not conflict:
                log.error(
                    "another instance of this bot is polling with the same token (Telegram: %s); "
                    "stopping this one. Run only one instance per token.",
                    exc.message,
                )
            conflict.append(exc)
            stop.set()
        else:
            log.warning("polling failed, retrying: %s", exc)

    await updater(app).start_polling(
        timeout=app.bot_data.get("poll_timeout", POLL_TIMEOUT),
        allowed_updates=Update.ALL_TYPES,
        bootstrap_retries=3,
        error_callback=on_poll_error,
    )
    log.info("bot @%s started: long polling", app.bot.username)


async def stop_app(app: App, keeper: asyncio.Task[None] | None) -> None:
    """Stop the housekeeping, the updates and the application, each only if it got started."""
    if keeper is not None:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    if updater(app).running:
        await updater(app).stop()
    if app.running:
        await app.stop()
    await app.shutdown()


def release(state: SharedState, leader: Leader, serving: Path | None) -> None:
    """Give up what this process held in the state folder (its serving file, the lead), then close it."""
    with contextlib.suppress(OSError):
        if serving is not None and serving.read_text().strip() == str(os.getpid()):
            serving.unlink()
    leader.release()
    state.close()


@contextlib.asynccontextmanager
async def running(app: App, settings: Settings) -> AsyncIterator[asyncio.Event]:
    """Start the bot (polling, or webhook when TELEGRAM_WEBHOOK_URL is set); yields the stop event.

    The event is set when the bot must stop on its own: another instance polls with the same token.
    """
    stop = asyncio.Event()
    conflict: list[Conflict] = []
    state: SharedState = app.bot_data["state"]
    leader = Leader(state.directory)
    keeper: asyncio.Task[None] | None = None
    serving: Path | None = None
    try:
        await initialize(app)
        try:
            await register_commands(app)
            await app.start()
            if settings.telegram_webhook_url:
                serving = await start_webhook(app, settings, state)
            else:
                await start_polling(app, stop, conflict)
            window = settings.telegram_user_rate_seconds
            keeper = asyncio.create_task(housekeeping(state, leader, window), name="housekeeping")
            yield stop
        finally:
            await stop_app(app, keeper)
    finally:
        release(state, leader, serving)
    if conflict:
        raise StartupFailed(
            "stopped: another instance is polling with this token", hint="stop the other instance, then start this one"
        )


async def serve(engine: Engine, settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, or until the bot must stop on its own."""
    app = build_application(engine, settings)
    async with running(app, settings) as stop:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    log.info("bot stopped")


def run(engine: Engine, settings: Settings) -> int:
    """`python -m bot` with a token: serve until stopped; the exit code."""
    try:
        asyncio.run(serve(engine, settings))
    except ReportBotError as exc:
        log.error("%s", exc.describe().replace("\n", " "))
        return 1
    return 0
