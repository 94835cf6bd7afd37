"""The per-user flood limit: a moving window per user, and one polite notice per window.

A user who sends more than TELEGRAM_USER_RATE updates (questions, button presses, inline queries)
within TELEGRAM_USER_RATE_SECONDS is told once to slow down; further updates in that window are
dropped without a reply, so a flood costs neither model time nor a flood of replies, and other
users are not slowed. The counting is the `limits` library's moving window, in memory.
"""

from __future__ import annotations

import enum

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

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
    """Counts each user's updates in a moving window."""

    def __init__(self, rate: int, seconds: int) -> None:
        self.seconds = seconds
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._updates = RateLimitItemPerSecond(rate, seconds)
        self._notices = RateLimitItemPerSecond(1, seconds)

    def check(self, user_id: int) -> Verdict:
        """Count one update from `user_id` and say whether to handle it."""
        if self._limiter.hit(self._updates, "updates", str(user_id)):
            return Verdict.ALLOW
        if self._limiter.hit(self._notices, "notices", str(user_id)):
            return Verdict.NOTIFY
        return Verdict.DROP

    @property
    def notice(self) -> str:
        """The throttle message."""
        return THROTTLE_TEXT.format(seconds=self.seconds)
