"""Many chats asking at once through the emulator: shared by the load test and `benchmarks/bench_bot_load.py`."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from conftest import User, live_bot

from bot.engine import Engine

#: Questions the chats cycle through: answered ones and one the report does not answer.
QUESTIONS = [
    "How many Russian air strikes were counted over Idlib and Hama?",
    "Who suggests that the Russian aircraft dropped cluster bombs?",
    "What does Lieutenant General Ayoub say the operation is for?",
    "Who won the Nobel Peace Prize in 2015?",
    "Where is Maasran?",
]


@dataclass
class LoadResult:
    """What a load run measured."""

    chats: int
    per_chat: int
    replies: int = 0
    errors: list[str] = field(default_factory=list)
    #: Warnings the bot logged (e.g. a reply retried because the API could not be reached).
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.chats * self.per_chat

    @property
    def per_second(self) -> float:
        return self.replies / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(p) - 1]

    def summary(self) -> str:
        return (
            f"{self.chats} chats x {self.per_chat} questions = {self.sent} sent, {self.replies} answered, "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings in {self.seconds:.1f} s: "
            f"{self.per_second:.1f} replies/s, "
            f"reply time p50 {self.percentile(50):.2f} s, p95 {self.percentile(95):.2f} s, "
            f"max {max(self.latencies, default=0):.2f} s"
        )


class _Problems(logging.Handler):
    """Collects the bot's warnings and errors (its logger has no other handler during a run)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(record.getMessage()[:200])


async def run_load(api: str, engine: Engine, chats: int = 50, per_chat: int = 20, timeout: float = 300) -> LoadResult:
    """`chats` users each send `per_chat` questions at once; wait for every reply and time them.

    The per-user flood limit is raised for the run: a real user waits for each answer, these send
    all their questions in one burst to load the bot.
    """
    result = LoadResult(chats, per_chat)
    problems = _Problems()
    logging.getLogger("bot").addHandler(problems)
    try:
        async with live_bot(api, engine, telegram_user_rate=per_chat * 10) as (first, _):
            users = [first] + [User(api, first.token, first.http) for _ in range(chats - 1)]
            sent: dict[int, list[float]] = {u.id: [] for u in users}
            got: dict[int, list[dict[str, Any]]] = {u.id: [] for u in users}
            started = time.time()

            async def ask_all(user: User, n: int) -> None:
                for i in range(per_chat):
                    sent[user.id].append(time.time())
                    await user.send(QUESTIONS[(n + i) % len(QUESTIONS)])

            await asyncio.gather(*(ask_all(u, n) for n, u in enumerate(users)))
            deadline = time.monotonic() + timeout
            while sum(map(len, got.values())) < result.sent and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                batches = await asyncio.gather(
                    *(u._post("getUpdates", {"token": u.token, "chatId": u.id}) for u in users)
                )
                for user, batch in zip(users, batches, strict=True):
                    got[user.id] += batch
            result.seconds = max((m["time"] / 1000 for b in got.values() for m in b), default=started) - started
            for user in users:
                replies = got[user.id]
                result.replies += len(replies)
                for reply in replies:
                    text = reply["message"]["text"]
                    if "went wrong" in text or "unavailable" in text:
                        result.errors.append(text[:120])
                times = sorted(m["time"] / 1000 for m in replies)
                result.latencies += [r - s for s, r in zip(sorted(sent[user.id]), times, strict=False)]
    finally:
        logging.getLogger("bot").removeHandler(problems)
    result.errors += problems.errors
    result.warnings += problems.warnings
    return result
