"""The Bot API emulator (npm telegram-test-api behind our launcher) and a user who talks to the bot.

The launcher (`emulator/launcher.js`) fixes what the stock emulator breaks in python-telegram-bot
and adds the smallest shims for the Bot API methods it lacks: sendChatAction, setMyCommands,
answerInlineQuery and answerCallbackQuery answer ok and are recorded (read back with `calls()`),
inline queries are injected as raw updates, and setWebhook forwards the secret token. Everything
else — the application, its handlers, the engine, the index — is the real thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.build.run import build_index
from bot.engine import Engine
from bot.settings import Settings
from bot.telegram.app import build_application, running

EMULATOR_DIR = Path(__file__).parent / "emulator"
BOT_ID = 666
BOT_USERNAME = "TestNameBot"
_ids = itertools.count(1000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_emulator(port: int) -> subprocess.Popen:
    """Start the launcher on `port` and wait for its "ready" line."""
    node = shutil.which("node")
    if node is None or not (EMULATOR_DIR / "node_modules" / "telegram-test-api").is_dir():
        pytest.fail("the Bot API emulator is not installed: run `make install` (needs node and npm)")
    proc = subprocess.Popen(
        [node, "launcher.js", str(port)], cwd=EMULATOR_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        pytest.fail(f"emulator did not start: {line}{proc.stdout.read()}")
    return proc


def stop_emulator(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def emulator() -> str:
    """The emulator's root URL; started once per session on a free port, stopped at the end."""
    port = free_port()
    proc = start_emulator(port)
    yield f"http://127.0.0.1:{port}"
    stop_emulator(proc)


#: Every secret a test bot was given in this session, for the log audit (`all_logs`).
ISSUED_SECRETS: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def all_logs() -> io.StringIO:
    """Every log record of the whole Telegram session, at DEBUG, with tracebacks: for the token audit.

    Installed before any bot is built, as the operator's log handler would be, so the bot's
    redaction filter is attached to it like to any real handler.
    """
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("telegram").setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(old_level)
    logging.getLogger("telegram").setLevel(logging.NOTSET)


ODD_ARTICLE = """---
title: Budget <Report> & "Quotes"
publisher: Example & Sons <News>
date: 2020-01-02
byline: Staff & agencies
---
Budget <Report> & "Quotes"

Schools & roads: what the council plans for the <new> year

The council said the budget for <schools> & "roads" would rise from 5 to 6 million, a rise of < 20% & more than "expected".

{long}
"""


@pytest.fixture(scope="session")
def odd_engine(tmp_path_factory: pytest.TempPathFactory, embedder) -> Engine:
    """An engine over a tiny corpus whose text holds `<`, `&`, quotes, and one very long paragraph."""
    root = tmp_path_factory.mktemp("odd")
    corpus = root / "corpus"
    corpus.mkdir()
    long = " ".join(
        f"At gauge {i} the river stood at {i % 7} metres & rising, the mayor said, and the <north> bridge stayed shut."
        for i in range(60)
    )
    (corpus / "budget.md").write_text(ODD_ARTICLE.format(long=long), encoding="utf-8")
    build_index(corpus, root / "index", embedder)
    return Engine(Settings(_env_file=None, index_dir=root / "index"), embedder=embedder)


class User:
    """A Telegram user (and their chat) talking to one bot through the emulator's client routes."""

    def __init__(self, api: str, token: str, http: httpx.AsyncClient, user_id: int | None = None) -> None:
        self.api, self.token, self.http = api, token, http
        self.id = user_id or next(_ids)
        self.first_name = f"Tester{self.id}"

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name, "username": f"tester{self.id}"}

    def chat(self, chat_id: int | None = None) -> dict[str, Any]:
        if chat_id is not None and chat_id < 0:
            return {"id": chat_id, "type": "group", "title": "Test group"}
        return {"id": self.id, "type": "private", "first_name": self.first_name}

    async def _post(self, route: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(f"{self.api}/{route}", json=body)
        response.raise_for_status()
        return response.json()["result"]

    async def send(
        self, text: str, chat_id: int | None = None, *, entities: list[dict] | None = None, reply_to: dict | None = None
    ) -> None:
        """Send a message; commands get their bot_command entity as Telegram adds it."""
        if entities is None and text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message: dict[str, Any] = {
            "botToken": self.token,
            "date": int(time.time()),
            "from": self.user,
            "chat": self.chat(chat_id),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        await self._post("sendMessage", message)

    async def replies(self, chat_id: int | None = None, n: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        """The bot's next `n` messages in the chat (waits for them), as the emulator stores them."""
        chat = chat_id if chat_id is not None else self.id
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            got += await self._post("getUpdates", {"token": self.token, "chatId": chat})
            if len(got) >= n:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} bot message(s) in chat {chat}, got {[m['message'] for m in got]}")
            await asyncio.sleep(0.05)
        return got

    async def silence(self, chat_id: int | None = None, wait: float = 1.5) -> list[dict[str, Any]]:
        """Whatever the bot sends to the chat within `wait` seconds (expected: nothing)."""
        await asyncio.sleep(wait)
        return await self._post("getUpdates", {"token": self.token, "chatId": chat_id if chat_id else self.id})

    async def ask(self, text: str, chat_id: int | None = None, n: int = 1, **kw: Any) -> list[dict[str, Any]]:
        await self.send(text, chat_id, **kw)
        return await self.replies(chat_id, n)

    async def press(self, reply: dict[str, Any], data: str) -> None:
        """Press an inline button (or forge one) under a bot message."""
        chat_id = int(reply["message"]["chat_id"])
        message = {
            "message_id": reply["messageId"],
            "date": int(time.time()),
            "chat": self.chat(chat_id if chat_id < 0 else None),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Report Bot", "username": BOT_USERNAME},
            "text": reply["message"]["text"],
        }
        await self._post(
            "sendCallback",
            {"botToken": self.token, "from": self.user, "message": message, "data": data, "chat_instance": "42"},
        )

    async def inline(self, query: str) -> None:
        """Type `@bot query` in a chat: an inline_query update (injected raw; the emulator has none)."""
        update = {"inline_query": {"id": uuid.uuid4().hex, "from": self.user, "query": query, "offset": ""}}
        await self._post("sendUpdate", {"botToken": self.token, "update": update})

    async def control(self, delay_ms: int = 0, methods: list[str] | None = None) -> dict[str, Any]:
        """The emulator's delay knob: bot-side calls (all, or `methods`) wait `delay_ms` first."""
        return await self._post("control", {"delay_ms": delay_ms, "methods": methods})

    async def waiting(self) -> int:
        """How many bot-side calls the emulator is holding back right now."""
        return (await self._post("control", {}))["waiting"]

    async def abandoned(self) -> int:
        """How many bot-side calls (getUpdates aside) the bot hung up on before their answer, so far."""
        return (await self._post("control", {}))["abandoned"]

    async def history(self) -> list[dict[str, Any]]:
        """Everything in the emulator for this bot: users' messages and the bot's."""
        return await self._post("getUpdatesHistory", {"token": self.token})

    async def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """The stubbed Bot API calls the bot made (setMyCommands, answerInlineQuery, ...)."""
        calls = await self._post("calls", {"token": self.token})
        return [c for c in calls if method is None or c["method"] == method]

    async def wait_call(self, method: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(calls := await self.calls(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot never called {method}")
            await asyncio.sleep(0.05)
        return calls


def bot_settings(api: str, index_dir: Path, **overrides: Any) -> Settings:
    token = f"{next(_ids)}:TEST-{uuid.uuid4().hex}"
    ISSUED_SECRETS.append(token)
    return Settings(
        _env_file=None, index_dir=index_dir, telegram_bot_token=token, telegram_base_url=f"{api}/bot", **overrides
    )


@contextlib.asynccontextmanager
async def live_bot(
    api: str, engine: Engine, user_id: int | None = None, **overrides: Any
) -> AsyncIterator[tuple[User, Settings]]:
    """The real application (real handlers, real engine) polling the emulator with a fresh token."""
    settings = bot_settings(api, engine.index_dir, **overrides)
    app = build_application(engine, settings, poll_timeout=2)
    async with httpx.AsyncClient(timeout=30) as http, running(app, settings):
        yield User(api, settings.telegram_bot_token.get_secret_value(), http, user_id), settings


@pytest.fixture
async def talk(emulator: str, engine: Engine) -> AsyncIterator[User]:
    """A user in a private chat with a running bot over the seed index."""
    async with live_bot(emulator, engine) as (user, _):
        yield user
