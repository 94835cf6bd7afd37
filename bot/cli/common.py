"""What every command shares: --corpus/--index, settings, error printing, and the process edges.

The edges (a closed pipe, SIGTERM, Ctrl-C, an error that escaped) are handled once, in `command`.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import select
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Protocol, TextIO

from bot.errors import ReportBotError
from bot.settings import Settings, load_settings

#: Exit codes shared by every command for the ways a run can be cut short.
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT)
EXIT_BROKEN_PIPE = 141  # stdout's reader went away (`... | head`): 128 + SIGPIPE, as a C tool would
EXIT_TERMINATED = 143  # SIGTERM (kill, systemd stop, docker stop)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the signal lands.

    A KeyboardInterrupt, so that every clean-up written for Ctrl-C (the build lock's owner file,
    an unfinished `.partial` version) runs for `kill` too; the exit code tells the two apart.
    """


def interrupted_code(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def interrupted_word(exc: BaseException) -> str:
    """How the run was cut short, for the one line the user sees."""
    return "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    """Raise `Terminated` where SIGTERM lands, except inside importlib's module-lock callback.

    An exception raised in that weakref callback is printed ("Exception ignored in ...") and
    swallowed, so the SIGTERM would be lost (seen in CI: a kill during the model's imports). There
    the signal is sent again a moment later, when the callback has returned.
    """
    code = frame.f_code if frame is not None else None
    if code is not None and code.co_name == "cb" and code.co_filename.startswith("<frozen importlib"):
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    raise Terminated


def _broken(stream: TextIO) -> bool:
    """Whether the stream is a pipe whose reader has gone (poll reports an error on its fd)."""
    try:
        fd = stream.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _silence_broken_streams() -> None:
    """Point a broken stdout/stderr at /dev/null, so the flush at exit does not print a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and _broken(stream):
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except OSError:
                pass


def say(line: str) -> None:
    """Print one line on stderr; a closed stderr is not worth a traceback."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (BrokenPipeError, OSError, ValueError):
        _silence_broken_streams()


class Main(Protocol):
    """A command's entry point: the arguments (None: the process's own), then the exit code."""

    def __call__(self, argv: list[str] | None = None) -> int:
        """Run the command."""
        ...


def command(main: Main) -> Main:
    """Wrap a command's `main` with what every command needs at its edges.

    - A closed stdout (`query.py --json --batch < q.jsonl | head -1`) ends the run quietly, exit 141.
    - SIGTERM raises `Terminated` (a KeyboardInterrupt), so it cleans up like Ctrl-C; exit 143.
    - A user-facing error that escaped the command is still one line with its hint, exit 1.
    """

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> int:
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
        try:
            try:
                code = main(argv)
                sys.stdout.flush()  # a closed pipe shows here, not as "Exception ignored" at exit
                return code
            except BrokenPipeError:
                _silence_broken_streams()
                return EXIT_BROKEN_PIPE
            except ReportBotError as exc:
                return fail(exc)
            except KeyboardInterrupt as exc:
                say(interrupted_word(exc))
                return interrupted_code(exc)
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    return wrapper


def add_path_options(parser: argparse.ArgumentParser) -> None:
    """`--corpus DIR` and `--index DIR`, defaulting to the settings (corpus/ and index/)."""
    parser.add_argument("--corpus", type=Path, metavar="DIR", help="corpus folder (default: CORPUS_DIR, corpus/)")
    parser.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: INDEX_DIR, index/)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings with the command-line paths applied on top of environment and `.env`.

    Raises `ConfigError` (one line, naming the setting or the settings file) when a value is
    invalid or `.env` cannot be read.
    """
    overrides = {}
    if getattr(args, "corpus", None) is not None:
        overrides["corpus_dir"] = args.corpus
    if getattr(args, "index", None) is not None:
        overrides["index_dir"] = args.index
    settings = load_settings(**overrides)
    configure_logging(settings.log_level)
    return settings


def configure_logging(level: str) -> None:
    """Our loggers at `level` on stderr; chatty libraries kept at WARNING (httpx logs URLs with the token)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("bot").setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "sentence_transformers", "transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(error: ReportBotError) -> int:
    """Print a user-facing error and its hint on stderr; the exit code for it."""
    say(error.describe())
    return 1
