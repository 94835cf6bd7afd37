"""Getting replies out while the Bot API is failing: retries on top of python-telegram-bot's rate limiter.

An update is *accepted* once getUpdates has handed it to the bot; from then on its reply is ours to
deliver. python-telegram-bot retries the polling itself, but a reply that fails mid-outage would be
lost, so every Bot API call except getUpdates goes through `DeliveringRateLimiter`:

- Telegram's flood limits (30 messages/s overall, 20/min per group) and `RetryAfter` are
  `AIORateLimiter`'s, unchanged.
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
from telegram.error import NetworkError, TimedOut
from telegram.ext import AIORateLimiter

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


class DeliveringRateLimiter(AIORateLimiter):
    """`AIORateLimiter` that also retries calls the API never received (see the module docstring)."""

    def __init__(self, *args: Any, retry_seconds: float = RETRY_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_seconds = retry_seconds

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
