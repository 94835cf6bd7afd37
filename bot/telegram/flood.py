"""The per-user flood limit: a moving window per user, and one polite notice per window.

A user who sends more than TELEGRAM_USER_RATE updates (questions, button presses, inline queries)
within TELEGRAM_USER_RATE_SECONDS is told once to slow down; further updates in that window are
dropped without a reply, so a flood costs neither model time nor a flood of replies, and other
users are not slowed.

The counts live in the bot's shared state (`bot/telegram/shared.py`), not in one process: with
several workers behind a webhook a user's updates are spread over all of them, and a count per
process would let a user send N times the limit.
"""

from __future__ import annotations

import enum

from bot.telegram.shared import SharedState

THROTTLE_TEXT = (
    "You are sending messages faster than I can answer them. "
    "Please wait {seconds} seconds, then ask again; I skipped the messages in between."
)


class Verdict(enum.Enum):
    """What to do with one update."""

    ALLOW = "allow"
    NOTIFY = "notify"  # over the limit, and not told yet in this window: tell the user, skip the update
    DROP = "drop"  # over the limit and already told: skip it silently


class FloodGuard:
    """Counts each user's updates in a moving window, in the state every worker shares."""

    def __init__(self, state: SharedState, rate: int, seconds: int) -> None:
        self.state = state
        self.rate = rate
        self.seconds = seconds

    async def check(self, user_id: int) -> Verdict:
        """Count one update from `user_id` and say whether to handle it."""
        allowed, notify = await self.state.attempt(
            "not counting the update against the flood limit",
            (True, False),
            self.state.hit,
            f"updates:{user_id}",
            self.rate,
            self.seconds,
            f"notices:{user_id}",
        )
        if allowed:
            return Verdict.ALLOW
        return Verdict.NOTIFY if notify else Verdict.DROP

    @property
    def notice(self) -> str:
        """The throttle message."""
        return THROTTLE_TEXT.format(seconds=self.seconds)
