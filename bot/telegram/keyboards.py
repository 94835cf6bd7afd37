"""The More / Context / Source buttons under an answer, and how a press finds its question again.

Callback data is tiny and untrusted (Telegram caps it at 64 bytes, and a client can send anything),
so it holds only an action and numbers: `more:<offset>`, `ctx:<passage id>`, `src:<passage id>`.
The question and the passages shown live in the bot's shared state (`bot/telegram/shared.py`),
keyed by chat and the id of the bot's reply, the newest `REMEMBERED` per chat: any worker process
can serve a press on any worker's message (why not `chat_data` nor the callback data: see there).
A press is honoured only when its message is remembered, the passage was shown there and the index
has not been rebuilt since. Anything else gets a polite "ask again".
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.corpus.articles import ArticleMeta
from bot.retrieval.answers import Quote
from bot.telegram.shared import SharedState
from bot.text.speaker import Speaker

#: Answers remembered per chat for their buttons; older ones expire.
REMEMBERED = 64
_DATA = re.compile(r"(more|ctx|src):(\d{1,9})")


@dataclass(frozen=True)
class Asked:
    """What an answer message showed: enough to serve its buttons."""

    question: str
    quotes: tuple[Quote, ...]
    shown: int
    version: str

    @property
    def passage_ids(self) -> tuple[int, ...]:
        """Ids of the passages this message showed."""
        return tuple(q.passage_id for q in self.quotes)

    def quote(self, passage_id: int) -> Quote | None:
        """The shown quote with this passage id; None for one this message never showed."""
        return next((q for q in self.quotes if q.passage_id == passage_id), None)

    def to_json(self) -> str:
        """The JSON the shared state keeps (plain data: no pickle in a file other processes read)."""
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Asked:
        """The `Asked` that `to_json` wrote."""
        data = json.loads(text)
        quotes = tuple(
            Quote(
                **{
                    **q,
                    "speaker": Speaker(**q["speaker"]),
                    "article": ArticleMeta(**q["article"]),
                    "slots": tuple(q["slots"]),
                    "speakers": tuple(q["speakers"]),
                }
            )
            for q in data["quotes"]
        )
        return cls(data["question"], quotes, data["shown"], data["version"])


@dataclass(frozen=True)
class Press:
    """A parsed button press."""

    action: str
    number: int


def parse(data: str | None) -> Press | None:
    """The press encoded in callback data, or None for anything malformed or forged."""
    match = _DATA.fullmatch(data or "")
    return Press(match.group(1), int(match.group(2))) if match else None


def answer_keyboard(asked: Asked, more_left: bool = True) -> InlineKeyboardMarkup | None:
    """More (next passages), Context (the paragraph and its neighbours), Source (article metadata)."""
    if not asked.passage_ids:
        return None
    first = asked.passage_ids[0]
    row = [
        InlineKeyboardButton("Context", callback_data=f"ctx:{first}"),
        InlineKeyboardButton("Source", callback_data=f"src:{first}"),
    ]
    if more_left:
        row.insert(0, InlineKeyboardButton("More", callback_data=f"more:{asked.shown}"))
    return InlineKeyboardMarkup([row])


async def remember(state: SharedState, chat_id: int, message_id: int, asked: Asked) -> None:
    """Keep what a reply showed, for every worker, dropping the chat's oldest beyond `REMEMBERED`."""
    fallback = "the buttons of this answer will ask to ask again"
    await state.attempt(fallback, None, state.remember, chat_id, message_id, asked.to_json(), REMEMBERED)


async def recall(state: SharedState, chat_id: int, message_id: int) -> Asked | None:
    """What the reply `message_id` showed, if it is still remembered (by whichever worker sent it)."""
    text = await state.attempt("the press is told to ask again", None, state.recall, chat_id, message_id)
    return Asked.from_json(text) if text is not None else None
