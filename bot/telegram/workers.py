"""Several bot worker processes behind one webhook: the supervisor, each worker's settings, the lead.

`python -m bot --workers N` (or BOT_WORKERS=N) starts N worker processes, `python -m bot --worker i`
each, and watches them: worker i serves the webhook on TELEGRAM_WEBHOOK_PORT + i, and a reverse
proxy in front spreads Telegram's calls over them (docs/telegram.md has nginx and Caddy configs).
Why processes and not threads or more asyncio tasks: answering a question is CPU work (the
embedding, the search) in a Python process, so one process uses about one core; N processes use N,
and one can be restarted while the others answer.

What the workers must agree on lives in the shared state (`bot/telegram/shared.py`) in
TELEGRAM_STATE_DIR; without one the supervisor makes a temporary folder for its workers, so
buttons work across workers but not across restarts.

- Webhook only: N processes long-polling one token would take turns failing with 409 Conflict.
- Every worker calls setWebhook at start with the same URL and secret: Telegram takes the same
  setting again without change, so a worker that restarts never leaves the bot without its webhook.
- The lead (`Leader`, an exclusive `flock` on `leader.lock` in the state folder) decides which
  worker runs the periodic housekeeping. The kernel drops the lock when its holder exits or dies,
  and another worker takes it on its next try.
- A worker that dies is started again (with a growing pause if it keeps dying). One that exits
  before it ever listened (a bad token, a port in use, a broken state folder) stops them all:
  starting it again would fail the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bot.errors import ConfigError
from bot.settings import Settings

log = logging.getLogger(__name__)

#: The lock file in the state folder whose holder leads.
LEADER_LOCK = "leader.lock"


def serving_file(state_dir: Path, port: int) -> Path:
    """The file a worker writes its pid to once its webhook server listens on `port`.

    The supervisor reads it to know that a worker came up; a connection probe could not tell the
    worker from another process already holding that port.
    """
    return Path(state_dir) / f"serving-{port}.pid"


#: Pauses before restarting a worker that died: doubling from FIRST_RESTART up to MAX_RESTART,
#: back to the first after a worker ran STABLE_SECONDS.
FIRST_RESTART = 1.0
MAX_RESTART = 30.0
STABLE_SECONDS = 60.0
#: Seconds the workers get to finish their updates after SIGTERM before they are killed.
STOP_SECONDS = 30.0
#: prctl's option that sends a process a signal when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """What a worker runs before `exec`: ask for SIGTERM when the supervisor dies, however it dies.

    Without it a supervisor killed by SIGKILL (or the OOM killer) leaves its workers serving with
    nobody to restart them, and a new supervisor's workers then find their ports taken. Linux
    only (None elsewhere: the workers outlive a killed supervisor; a clean stop still stops them).
    The C library is looked up here, in the supervisor: between fork and exec only the call runs.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before the request took hold
            os._exit(1)

    return preexec


class Leader:
    """The lead among the workers that share a state folder: an exclusive, non-blocking `flock`.

    `flock` locks belong to the open file, so the kernel releases it when the holder closes it,
    exits or is killed; nothing can stay locked by a dead worker. (Not reliable on NFS: the
    state folder is local, see `bot/telegram/shared.py`.)
    """

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LEADER_LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process leads."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lead if nobody holds it; True when this process leads (now or already)."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who leads, for an operator reading the file
        self._fd = fd
        log.info("this worker (pid %d) leads: it runs the housekeeping", os.getpid())
        return True

    def release(self) -> None:
        """Give up the lead (closing the file releases the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def worker_settings(settings: Settings, index: int) -> Settings:
    """Worker `index`'s settings: its own webhook port, TELEGRAM_WEBHOOK_PORT + index.

    A worker needs the webhook and a shared state folder: without them its updates and its
    buttons would not be the bot's but its own.
    """
    if not settings.telegram_webhook_url:
        raise ConfigError(
            "several bot workers need webhook mode (TELEGRAM_WEBHOOK_URL is not set)",
            hint="set TELEGRAM_WEBHOOK_URL to the public URL of the reverse proxy in front of the workers",
        )
    if settings.telegram_state_dir is None:
        raise ConfigError(
            f"bot worker {index} has no shared state (TELEGRAM_STATE_DIR is not set)",
            hint="start the workers with `python -m bot --workers N`, or set TELEGRAM_STATE_DIR for all of them",
        )
    port = settings.telegram_webhook_port + index
    if port > 65535:
        raise ConfigError(
            f"worker {index} would listen on port {port}",
            hint="lower TELEGRAM_WEBHOOK_PORT or BOT_WORKERS",
        )
    return settings.model_copy(update={"telegram_webhook_port": port})


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse a set-up N workers cannot run, in one line, before anything starts."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token:
        raise ConfigError(
            f"{workers} bot workers asked for, but TELEGRAM_BOT_TOKEN is not set",
            hint="put the token from @BotFather in .env; the terminal chat runs as one process",
        )
    worker_settings(settings.model_copy(update={"telegram_state_dir": Path(".")}), workers - 1)


class Supervisor:
    """Starts the worker processes, restarts one that dies, and stops them all on SIGTERM/SIGINT."""

    def __init__(self, settings: Settings, workers: int, python: str = sys.executable) -> None:
        check_workers(settings, workers)
        self.settings = settings
        self.workers = workers
        self.python = python
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if settings.telegram_state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="report-bot-state-")
            self.state_dir = Path(self._tmp.name)
        else:
            self.state_dir = settings.telegram_state_dir
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.started: dict[int, float] = {}
        self.ready: set[int] = set()  # workers that listened at least once: the set-up works
        self.pause: dict[int, float] = {}
        self.stopping = False
        self._preexec = _die_with_parent()

    def _spawn(self, index: int) -> None:
        env = {**os.environ, "TELEGRAM_STATE_DIR": str(self.state_dir)}
        self.procs[index] = subprocess.Popen(
            [self.python, "-m", "bot", "--worker", str(index)], env=env, preexec_fn=self._preexec
        )
        self.started[index] = time.monotonic()
        log.info(
            "worker %d started (pid %d), webhook port %d",
            index,
            self.procs[index].pid,
            self.settings.telegram_webhook_port + index,
        )

    def _serving(self, index: int) -> bool:
        """Whether worker `index` has said (in its `serving_file`) that its webhook server listens."""
        try:
            pid = serving_file(self.state_dir, self.settings.telegram_webhook_port + index).read_text().strip()
        except OSError:
            return False
        return pid == str(self.procs[index].pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Supervise until told to stop; the exit code (1 when a worker could not start)."""
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            log.info("starting %d bot workers, shared state in %s", self.workers, self.state_dir)
            for index in range(self.workers):
                self.pause[index] = FIRST_RESTART
                self._spawn(index)
            code = self._watch()
        finally:
            self._stop_all()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            if self._tmp is not None:
                self._tmp.cleanup()
        log.info("all bot workers stopped")
        return code

    def _watch(self) -> int:
        restart_at: dict[int, float] = {}
        while not self.stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for index, proc in list(self.procs.items()):
                if index in restart_at:
                    continue
                code = proc.poll()
                if code is None:
                    if index not in self.ready and self._serving(index):
                        self.ready.add(index)
                    continue
                if index not in self.ready:
                    log.error("worker %d exited with %s before it ever listened; stopping all workers", index, code)
                    return 1
                if now - self.started[index] >= STABLE_SECONDS:
                    self.pause[index] = FIRST_RESTART
                log.warning(
                    "worker %d (pid %d) exited with %s; restarting it in %.0f s",
                    index,
                    proc.pid,
                    code,
                    self.pause[index],
                )
                restart_at[index] = now + self.pause[index]
                self.pause[index] = min(self.pause[index] * 2, MAX_RESTART)
            for index, when in list(restart_at.items()):
                if now >= when and not self.stopping:
                    del restart_at[index]
                    self._spawn(index)
        return 0

    def _stop_all(self) -> None:
        """SIGTERM to every worker (each finishes its updates), SIGKILL to any still up after STOP_SECONDS."""
        running = [p for p in self.procs.values() if p.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in %.0f s; killing it", proc.pid, STOP_SECONDS)
                proc.kill()
                proc.wait()


def supervise(settings: Settings, workers: int) -> int:
    """`python -m bot --workers N`: run N workers until SIGTERM/SIGINT; the exit code."""
    return Supervisor(settings, workers).run()
