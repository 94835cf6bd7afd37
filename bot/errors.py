"""Errors a user can cause or fix; each carries the one-line hint that fixes it.

The faces (CLI, terminal chat, Telegram) print `str(error)` and the hint instead of a stack trace.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

#: What a failed read or write of an SQLite file raises: caught by name by the build, which
#: keeps SQL itself inside `bot/index/`.
SQLiteError = sqlite3.Error


class ReportBotError(Exception):
    """Base of the errors meant for the user rather than the developer."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def describe(self) -> str:
        """Message and hint on one line each, as the CLI prints them."""
        return f"error: {self}" + (f"\nhint: {self.hint}" if self.hint else "")


class IndexUnavailable(ReportBotError):
    """The index is missing, damaged, or built with another model or schema."""

    hint = "build it with: python scripts/build_index.py --full"


class ArticleError(ReportBotError):
    """An article that cannot be read or parsed; the build skips it and says why."""


class ConfigError(ReportBotError):
    """A setting or argument that cannot work."""


class StorageError(ReportBotError):
    """A folder the bot writes to cannot take the write.

    The disk is full, the folder is read-only, or a path that must be a file is a folder (or the
    other way round).
    """


#: errno values meaning "no room": no space, over quota, over the file-size limit (RLIMIT_FSIZE).
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_SHAPE = {errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY}
#: Below this much free space, a failed write is taken for a full disk (SQLite and FAISS often
#: report only "disk I/O error" or "write error").
_NEARLY_FULL_BYTES = 1 << 20


def _nearly_full(folder: Path) -> bool:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free < _NEARLY_FULL_BYTES
    except OSError:
        return False


def storage_error(exc: BaseException, folder: Path, *, outcome: str, flag: str = "--index") -> StorageError | None:
    """The one-line error for a failed write under `folder`, or None when `exc` is not one.

    Covers OSError (ENOSPC, EDQUOT, EFBIG; EACCES, EROFS; EISDIR, ENOTDIR), SQLite's "database or
    disk is full", "readonly database" and I/O errors, and FAISS's write errors (RuntimeError).
    `outcome` says what state the failure left, e.g. "the previous index is unchanged".
    """
    classified = _classify(exc)
    if classified is None:
        return None
    code, reason = classified
    where = getattr(exc, "filename", None) or folder
    if code == errno.EFBIG:
        return StorageError(
            f"a file under {folder}/ hit the file-size limit ({reason}); {outcome}",
            hint="raise the limit (ulimit -f) or free space, then run the command again",
        )
    if code in _FULL or (code == errno.EIO and _nearly_full(folder)):
        return StorageError(
            f"the disk holding {folder}/ is full ({reason}); {outcome}",
            hint=f"free some space there (see: df -h {folder}) and run the command again",
        )
    if code in _DENIED:
        return StorageError(
            f"cannot write to {where}: {reason}; {outcome}",
            hint=f"make {folder}/ writable for this user, or choose another folder with {flag}",
        )
    if code in _SHAPE:
        shape = "is a folder where a file is needed" if code == errno.EISDIR else "is in the way"
        if code == errno.EEXIST and Path(where).is_file():
            shape = "is a file where a folder is needed"
        if code == errno.ENOTDIR:
            shape = "cannot be used: part of that path is a file, not a folder"
        return StorageError(
            f"{where} {shape}; {outcome}",
            hint=f"move it out of the way, or choose another folder with {flag}",
        )
    return StorageError(
        f"cannot write to {where}: {reason}; {outcome}",
        hint=f"check the disk and the permissions of {folder}/, then run the command again",
    )


def _classify(exc: BaseException) -> tuple[int, str] | None:
    """An errno and a reason for a failed file operation, or None when `exc` is not one."""
    message = str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno, exc.strerror or message
    if isinstance(exc, sqlite3.Error):
        low = message.lower()
        if "full" in low:
            return errno.ENOSPC, message
        if "readonly" in low or "read-only" in low:
            return errno.EROFS, message
        if "unable to open" in low:
            return errno.EACCES, message
        return errno.EIO, message
    if isinstance(exc, RuntimeError) and ("write" in message.lower() or "fopen" in message.lower()):
        return errno.EIO, message.strip().splitlines()[-1][:160]
    return None


def disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether `exc` is a write that failed for want of space on the disk holding `folder`."""
    classified = _classify(exc)
    return classified is not None and (classified[0] in _FULL or (classified[0] == errno.EIO and _nearly_full(folder)))
