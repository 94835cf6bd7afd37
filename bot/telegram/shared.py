"""What the bot's worker processes share: button memory, seen updates, flood counts, the send budget, /reload.

With several workers behind one webhook (`python -m bot --workers N`, docs/telegram.md) an update
can reach any worker: the answer goes out from worker A, the press of its "More" button arrives at
worker B; a user's flood is spread over all of them; Telegram's 30 messages/s cap is the bot's, not
a process's; an admin's /reload reaches one worker but is meant for all. So all of this lives in
one SQLite file in TELEGRAM_STATE_DIR, which every worker opens. With one process and no
TELEGRAM_STATE_DIR it is a private file in a temporary folder, removed at exit: the same code path,
and the same behaviour as keeping it in memory.

Why SQLite, and not the alternatives:

- python-telegram-bot's persistence (`BasePersistence`) keeps `chat_data` in each process's memory
  and writes it back every `update_interval` seconds (60 by default); the other workers read the
  store at start-up. A button pressed on another worker within that interval finds nothing. Here a
  write is committed before the handler goes on, and every read goes to the file.
- Callback data is capped at 64 bytes and a client can send anything in it: "More" needs the
  question, which does not fit, and a passage id in it would have to be signed to be trusted. So
  the data stays `action:number` and what a press needs is kept here, keyed by chat and message.
- SQLite in WAL mode lets readers and the one writer work at once; every change is one short
  `BEGIN IMMEDIATE` transaction, serialised across processes by SQLite's own locks, with a busy
  timeout instead of errors. `synchronous=NORMAL`: no fsync per commit (none of this is worth a
  disk flush per message; a power cut loses at most the last buttons).

Limit: one machine. SQLite's locking is not reliable on network file systems (NFS, SMB), so the
workers that share a TELEGRAM_STATE_DIR must run on the host that has the folder on a local disk.

Every call runs on one thread per process (a single-thread executor) that owns the connection: the
event loop never waits on a lock, and the connection is only ever used by the thread that made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from bot.errors import ConfigError

T = TypeVar("T")

log = logging.getLogger(__name__)

#: What a failing state raises: the file (disk full, read-only, an I/O error, locked beyond the
#: busy timeout), or the state already closed (its thread is gone).
FAILURES = (sqlite3.Error, OSError, RuntimeError)

#: The database's file name inside TELEGRAM_STATE_DIR.
DB_NAME = "telegram.sqlite3"
#: Seconds a writer waits for another process's transaction before giving up.
BUSY_SECONDS = 10.0
#: Updates seen within this many seconds are recognised when delivered again. Telegram resends a
#: webhook call that got no answer in time, within minutes, and the proxy may hand the resend to
#: another worker; an hour covers that while keeping the table small (30 updates/s: 108,000 rows).
SEEN_SECONDS = 3600
#: Button memory older than this is dropped by the housekeeping (the per-chat cap applies too).
BUTTON_SECONDS = 30 * 24 * 3600
#: A send slot is never reserved further ahead than this: the wall clock may jump back, and a
#: reservation an hour ahead would hold every reply for an hour.
MAX_BUDGET_WAIT = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buttons (
    chat_id INTEGER NOT NULL, message_id INTEGER NOT NULL, at REAL NOT NULL, asked TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id));
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at);
CREATE TABLE IF NOT EXISTS budget (key TEXT PRIMARY KEY, tat REAL NOT NULL);
"""


class SharedState:
    """The shared SQLite file of one bot; see the module docstring for what it holds and why."""

    def __init__(self, directory: Path | None, bot_id: str) -> None:
        """Open (creating) the state in `directory`, or in a private temporary folder when None.

        `bot_id` (the number before the token's colon) is written once: a folder that holds
        another bot's state is refused, since chat and message ids would mix.
        """
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="report-bot-state-")
            directory = Path(self._tmp.name)
        self.directory = Path(directory)
        self.private = self._tmp is not None
        self.path = self.directory / DB_NAME
        self.bot_id = bot_id
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shared-state")
        self._conn: sqlite3.Connection | None = None
        try:
            self._executor.submit(self._open).result()
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the bot's shared state in {self.directory}: {exc}",
                hint="TELEGRAM_STATE_DIR must be a writable folder on a local disk",
            ) from None
        self._conn = conn
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                self._prepare(conn)
                return
            except sqlite3.OperationalError as exc:
                # Workers started together race to create the file and switch it to WAL. SQLite
                # answers some of those races with "database is locked" at once, without waiting
                # on the busy timeout (switching the journal needs the only lock; a connection
                # that would wait could deadlock), so the open is retried until the timeout.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    self._raise_unusable(exc)
                if time.monotonic() >= deadline:
                    self._raise_unusable(exc)
                time.sleep(0.02)
            except sqlite3.Error as exc:
                self._raise_unusable(exc)

    def _raise_unusable(self, exc: sqlite3.Error) -> NoReturn:
        raise ConfigError(
            f"cannot use the bot's shared state {self.path}: {exc}",
            hint="TELEGRAM_STATE_DIR must be a writable folder on a local disk",
        ) from None

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """WAL mode, the schema and this bot's id: idempotent, so a racing open can run it again."""
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        with self._write() as db:
            for statement in _SCHEMA.split(";"):  # not executescript: it would commit first
                if statement.strip():
                    db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'bot_id'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('bot_id', ?)", (self.bot_id,))
            elif row[0] != self.bot_id:
                raise ConfigError(
                    f"{self.directory} holds the state of bot {row[0]}, not of this bot ({self.bot_id})",
                    hint="give each bot its own TELEGRAM_STATE_DIR",
                )

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (IMMEDIATE) so that read-then-write cannot deadlock."""
        assert self._conn is not None, "shared state is closed"
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one of the methods below on the state's thread, without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def attempt(self, fallback: str, default: T, fn: Callable[..., T], *args: Any) -> T:
        """`call`, but a failing state costs no answer: log `fallback` (what happens instead), return `default`.

        For what the state only adds to an answer: the duplicate check and the flood limit let the
        update through, the budget lets the reply go (Telegram's RetryAfter still holds it back),
        an answer whose buttons cannot be remembered is still sent and its buttons say "ask again".
        """
        try:
            return await self.call(fn, *args)
        except FAILURES as exc:
            log.warning("the shared state %s failed (%s); %s", self.path, exc, fallback)
            return default

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`call` for code without an event loop (scripts, tests): run it on the state's thread and wait."""
        return self._executor.submit(fn, *args).result()

    def close(self) -> None:
        """Close the connection and the thread; a private state's folder is removed."""
        if self._conn is not None:
            with contextlib.suppress(RuntimeError):  # the executor is already shut down
                self._executor.submit(self._close).result()
        self._executor.shutdown(wait=True)
        if self._tmp is not None:
            self._tmp.cleanup()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the state --------------------------------------------------------------------------------

    def remember(self, chat_id: int, message_id: int, asked: str, keep: int) -> None:
        """Keep what a reply showed (JSON), dropping the chat's oldest beyond `keep`."""
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO buttons VALUES (?, ?, ?, ?)", (chat_id, message_id, time.time(), asked))
            db.execute(
                "DELETE FROM buttons WHERE chat_id = ? AND message_id NOT IN "
                "(SELECT message_id FROM buttons WHERE chat_id = ? ORDER BY at DESC, message_id DESC LIMIT ?)",
                (chat_id, chat_id, keep),
            )

    def recall(self, chat_id: int, message_id: int) -> str | None:
        """What the reply `message_id` in `chat_id` showed, if it is still remembered."""
        assert self._conn is not None, "shared state is closed"
        row = self._conn.execute(
            "SELECT asked FROM buttons WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        ).fetchone()
        return row[0] if row else None

    def first_time(self, key: str) -> bool:
        """True the first time `key` (an update) is seen by any worker; False for a redelivery."""
        with self._write() as db:
            return db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, time.time())).rowcount == 1

    def hit(self, key: str, limit: int, seconds: float, notice_key: str | None = None) -> tuple[bool, bool]:
        """Count one hit of `key` in a moving window of `seconds`; (allowed, notify).

        Allowed while fewer than `limit` hits fall in the window. When it is not, `notify` says
        whether `notice_key` had no hit in the window yet (and counts one): the caller tells the
        user once per window and drops the rest silently.
        """
        now = time.time()
        with self._write() as db:
            for k in (key, notice_key):
                if k is not None:
                    db.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (k, now - seconds))
            (count,) = db.execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()
            if count < limit:
                db.execute("INSERT INTO hits VALUES (?, ?)", (key, now))
                return True, False
            if notice_key is None:
                return False, False
            if db.execute("SELECT 1 FROM hits WHERE key = ? LIMIT 1", (notice_key,)).fetchone():
                return False, False
            db.execute("INSERT INTO hits VALUES (?, ?)", (notice_key, now))
            return False, True

    def reserve(self, buckets: list[tuple[str, float, float]]) -> float:
        """Reserve one send in each bucket `(key, rate, period)`; the seconds to wait before sending.

        A generic cell rate algorithm per key: each send moves the key's "theoretical arrival
        time" on by period/rate; up to `rate` sends may go at once (the burst), the next waits for
        its slot. The reservation is made at once, so concurrent callers in every process queue up
        in order instead of polling. A pause set by `pause` (Telegram's RetryAfter) holds all.
        """
        now = time.time()
        wait = 0.0
        with self._write() as db:
            row = db.execute("SELECT tat FROM budget WHERE key = 'pause'").fetchone()
            if row and row[0] > now:
                wait = min(row[0] - now, MAX_BUDGET_WAIT)
            for key, rate, period in buckets:
                interval = period / rate
                row = db.execute("SELECT tat FROM budget WHERE key = ?", (key,)).fetchone()
                tat = row[0] if row else now
                if tat > now + MAX_BUDGET_WAIT + period:  # the clock went back: start afresh
                    tat = now
                tat = max(tat, now + wait) + interval
                db.execute("INSERT OR REPLACE INTO budget VALUES (?, ?)", (key, tat))
                wait = max(wait, tat - period - now)
        return min(max(wait, 0.0), MAX_BUDGET_WAIT)

    def pause(self, seconds: float) -> None:
        """Hold every worker's sends for `seconds` (Telegram answered RetryAfter to one of them)."""
        until = time.time() + min(seconds, MAX_BUDGET_WAIT)
        with self._write() as db:
            row = db.execute("SELECT tat FROM budget WHERE key = 'pause'").fetchone()
            if row is None or row[0] < until:
                db.execute("INSERT OR REPLACE INTO budget VALUES ('pause', ?)", (until,))

    def request_reload(self) -> int:
        """Ask every worker to re-open the index (an admin's /reload); the new reload generation.

        A counter in `meta`, not a message to each worker: a worker compares it with the last one
        it acted on before each update (`gate.current_index`), so a worker that was restarting, or
        busy, re-opens the index on its next update all the same.
        """
        with self._write() as db:
            db.execute(
                "INSERT INTO meta VALUES ('reload', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
            return int(db.execute("SELECT value FROM meta WHERE key = 'reload'").fetchone()[0])

    def reload_generation(self) -> int:
        """How many /reloads were asked for in this state (0: none)."""
        assert self._conn is not None, "shared state is closed"
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'reload'").fetchone()
        return int(row[0]) if row else 0

    def prune(self, window: float) -> dict[str, int]:
        """Drop what no longer matters: hits older than `window`, old updates, old buttons, idle buckets."""
        now = time.time()
        with self._write() as db:
            removed = {
                "hits": db.execute("DELETE FROM hits WHERE at <= ?", (now - window,)).rowcount,
                "seen": db.execute("DELETE FROM seen WHERE at <= ?", (now - SEEN_SECONDS,)).rowcount,
                "buttons": db.execute("DELETE FROM buttons WHERE at <= ?", (now - BUTTON_SECONDS,)).rowcount,
                "budget": db.execute("DELETE FROM budget WHERE tat <= ?", (now - 3600,)).rowcount,
            }
        assert self._conn is not None
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return removed
