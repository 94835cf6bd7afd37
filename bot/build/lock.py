"""The build lock: one build at a time per index folder, and who holds it."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from bot.errors import ReportBotError

LOCK_FILE = "build.lock"
OWNER_FILE = "build.owner"


class BuildLocked(ReportBotError):
    """Another build holds the lock on this index."""

    hint = "wait for it to finish; if its process is gone, run the build again"


class BuildLock:
    """An exclusive lock on the index folder that says who holds it.

    A build that finds another one running waits up to `wait` seconds for it (saying so through
    `notify`): two builds started together, e.g. `add_article.py` twice, both succeed in turn.
    """

    def __init__(self, index_dir: Path, *, wait: float = 0, notify: Callable[[str], None] | None = None) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.owner = index_dir / OWNER_FILE
        self.lock = FileLock(index_dir / LOCK_FILE, timeout=0)
        self.wait = wait
        self.notify = notify

    def _holder(self) -> str:
        try:
            return self.owner.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            return "another process"

    def __enter__(self) -> BuildLock:
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            if self.wait <= 0:
                raise BuildLocked(f"another build is running on this index ({self._holder()})") from None
            if self.notify:
                self.notify(
                    f"another build is running on this index ({self._holder()}); "
                    f"waiting up to {self.wait:g} s for it to finish"
                )
            try:
                self.lock.acquire(timeout=self.wait, poll_interval=0.1)
            except Timeout:
                raise BuildLocked(f"another build is running on this index ({self._holder()})") from None
        try:
            self.owner.write_text(
                f"pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC", encoding="utf-8"
            )
        except BaseException:  # a full disk, or Ctrl-C right here: leave neither file nor lock
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.owner.unlink(missing_ok=True)
        except OSError:  # a folder where the owner file goes: reported when the build wrote it
            pass
        finally:
            self.lock.release()
