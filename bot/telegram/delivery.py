"""Getting replies out while the Bot API is failing: retries on top of python-telegram-bot's rate limiter.

An update is *accepted* once getUpdates has handed it to the bot; from then on its reply is ours to
deliver. python-telegram-bot retries the polling itself, but a reply that fails mid-outage would be
lost, so every Bot API call except getUpdates goes through `DeliveringRateLimiter`:

- Telegram's flood limits (30 messages/s overall, 20/min per group) apply to the bot, not to a
  process: with several workers a budget per process would send N times too much. So the budget
  is kept in the bot's shared state (`SharedState.reserve`, a reservation per send in one SQLite
  transaction, `bot/telegram/shared.py`) instead of `AIORateLimiter`'s in-memory limiters, which
  are switched off. A `RetryAfter` from Telegram holds every worker's sends (`SharedState.pause`),
  and `AIORateLimiter` retries the call after it, as before.
- A reply (sendMessage, edits, answers to buttons and inline queries) that failed because the API
  could not be reached — the connection refused or reset, or closed before any answer — is retried
  with backoff for up to `RETRY_SECONDS`.
- A call that timed out *reading* the answer is not retried: the API may have acted on it, and
  resending a message would show it twice. Exactly once where we can know, at most once otherwise.
- `sendChatAction` ("typing…") is cosmetic: it skips the message budget and is never retried, so
  under load it does not delay a single answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.constants import FloodLimit
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

from bot.telegram.shared import SharedState

log = logging.getLogger(__name__)

#: How long a reply is retried while the API is unreachable.
RETRY_SECONDS = 120.0
#: Waits between retries double from FIRST_WAIT up to MAX_WAIT.
FIRST_WAIT = 0.25
MAX_WAIT = 5.0
#: Calls that are neither counted against the message budget nor retried.
COSMETIC = frozenset({"sendChatAction"})
#: Calls that answer a user, retried while the API is unreachable. Start-up calls (getMe,
#: setMyCommands, setWebhook) have their own retries in `app.initialize` and are not among them.
REPLIES = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "answerInlineQuery"}
)
#: httpx errors after which the request certainly was not acted on (or, for a dropped connection,
#: almost certainly: the server closed it before answering).
_NOT_DELIVERED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.RemoteProtocolError)


def undelivered(error: NetworkError) -> bool:
    """Whether a failed call can be resent without risking a duplicate."""
    cause = error.__cause__
    if isinstance(error, TimedOut):
        return isinstance(cause, (httpx.ConnectTimeout, httpx.PoolTimeout))
    return isinstance(cause, _NOT_DELIVERED) or "Bad Gateway" in str(error)


def buckets(data: dict[str, Any]) -> list[tuple[str, float, float]]:
    """The shared budgets a call draws on, as `AIORateLimiter` picks them: (key, rate, period).

    Every call to a chat counts against the bot's 30 messages/s; one to a group or a channel
    (a negative id, or an @username) also against that chat's 20 messages/min.
    """
    chat_id = data.get("chat_id")
    if chat_id is None or data.get("allow_paid_broadcast"):
        return []  # not to a chat; paid broadcasts keep AIORateLimiter's own 1000/s limiter
    out = [("all", float(FloodLimit.MESSAGES_PER_SECOND), 1.0)]
    try:
        group = int(chat_id) < 0
    except (TypeError, ValueError):
        group = True
    if group:
        out.append((f"chat:{chat_id}", float(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP), 60.0))
    return out


class DeliveringRateLimiter(AIORateLimiter):
    """`AIORateLimiter` on the workers' shared budget that also retries undelivered calls (module docstring)."""

    def __init__(self, state: SharedState, *, retry_seconds: float = RETRY_SECONDS, max_retries: int = 0) -> None:
        # The in-memory limiters off (rate 0): the shared budget replaces them. RetryAfter handling stays.
        super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=max_retries)
        self.state = state
        self.retry_seconds = retry_seconds

    async def _shared_slot(self, data: dict[str, Any]) -> None:
        """Wait for this call's turn in the budget all workers share."""
        wanted = buckets(data)
        if wanted:
            wait = await self.state.attempt("sending without the shared budget", 0.0, self.state.reserve, wanted)
            if wait > 0:
                await asyncio.sleep(wait)

    def _watch(self, callback: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
        """`callback`, telling every worker to hold off when Telegram answers RetryAfter."""

        async def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                # The timedelta AIORateLimiter itself reads: `retry_after` warns of a type change (PTB 22.2).
                pause = exc._retry_after.total_seconds() + 0.1
                await self.state.attempt("only this worker holds off", None, self.state.pause, pause)
                raise

        return watched

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Run the call under the flood limits; resend it while the API is unreachable."""
        if endpoint in COSMETIC:
            return await callback(*args, **kwargs)
        await self._shared_slot(data)
        callback = self._watch(callback)
        deadline = time.monotonic() + self.retry_seconds
        wait = FIRST_WAIT
        attempt = 1
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NetworkError as exc:
                if endpoint not in REPLIES or not undelivered(exc) or time.monotonic() + wait > deadline:
                    raise
                log.warning("%s failed (%s); retrying in %.2f s (attempt %d)", endpoint, exc, wait, attempt)
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_WAIT)
                attempt += 1
