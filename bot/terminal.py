"""The terminal face: plain-text answers and the interactive chat that `make run` opens without a token.

At a terminal the chat reads lines through GNU readline (arrow keys, Ctrl-R, history kept across
sessions in the user's cache folder); the bot's log lines go to a file there instead of into the
conversation (warnings still reach stderr), and a rebuilt index is told as a line of the chat.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from bot.embedding.onnx_encoder import default_cache_dir
from bot.engine import LIST_ARTICLES, LIST_SPEAKERS, Engine
from bot.errors import ReportBotError
from bot.retrieval.answers import Answer, Quote
from bot.text.citation import source_line
from bot.text.wording import REPORT, Wording

#: Lines of chat history kept between sessions.
HISTORY_LENGTH = 1000

WIDTH = 100


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def format_quote(quote: Quote, number: int | None = None) -> str:
    """One quote: the sentence in «», its speaker, and its source line."""
    head = f"{number}. " if number is not None else ""
    lines = [
        _wrap(f"{head}«{quote.quote}»", ""),
        f"   — {quote.speaker.label}",
        f"   {source_line(quote.article, quote.paragraph, quote.kind)}",
    ]
    return "\n".join(lines)


def format_answer(answer: Answer, words: Wording = REPORT) -> str:
    """A readable answer: the best quote, then supporting or related quotes."""
    out: list[str] = []
    if answer.notice:
        out.append(f"({answer.notice})")
    if not answer.quotes:
        out.append(f"{words.The} {words.has} nothing on this.")
        return "\n".join(out)
    if answer.answered:
        out.append(format_quote(answer.quotes[0]))
        if len(answer.quotes) > 1:
            out.append(f"\nAlso in {words.the}:")
            out.extend(format_quote(q, i) for i, q in enumerate(answer.quotes[1:], 2))
    elif answer.possibly_relevant:
        # A middling confidence: the closest passage may hold the answer; the reader judges.
        out.append(f"{words.The} may not answer this. Possibly relevant (not a sure answer):")
        out.append(format_quote(answer.quotes[0], 1))
        if len(answer.quotes) > 1:
            out.append("\nRelated, not an answer:")
            out.extend(format_quote(q, i) for i, q in enumerate(answer.quotes[1:], 2))
    else:
        out.append(f"{words.The} {words.does} not answer this. The closest passages (related, not an answer):")
        out.extend(format_quote(q, i) for i, q in enumerate(answer.quotes, 1))
    return "\n".join(out)


def format_sources(engine: Engine) -> str:
    """The indexed articles with dates and passage counts; on a large index, per publisher and the newest."""
    total = engine.about().articles
    rows = [
        f"- {source_line(meta, 0, 'paragraph').rsplit(' · ', 1)[0]} ({n} passages)"
        for meta, n in engine.articles(LIST_ARTICLES)
    ]
    if total <= len(rows):
        return "Articles in the index:\n" + "\n".join(rows)
    publishers = engine.publishers()
    by_publisher = [
        f"- {name or 'no publisher'}: {n} articles, {p} passages ({first or '?'} to {last or '?'})"
        for name, n, p, first, last in publishers[:LIST_ARTICLES]
    ]
    more = f" (and {len(publishers) - len(by_publisher)} more)" if len(publishers) > len(by_publisher) else ""
    return (
        f"{total} articles in the index, from {len(publishers)} publishers{more}:\n"
        + "\n".join(by_publisher)
        + f"\n\nThe newest {len(rows)}:\n"
        + "\n".join(rows)
    )


def format_speakers(engine: Engine, name: str = "", limit: int | None = LIST_SPEAKERS) -> str:
    """Quotes attributed to `name`, or the named sources with their counts (the first `limit`; None: all)."""
    if not name:
        rows = [f"- {speaker}: {n}" for speaker, n in engine.speakers(limit)]
        text = "Named sources (sentences attributed):\n" + "\n".join(rows)
        total = engine.speaker_count() if limit is not None and len(rows) == limit else len(rows)
        if total > len(rows):
            text += f"\n… and {total - len(rows)} more (scripts/query.py --speakers lists them all)"
        return text
    quotes = engine.quotes_by(name)
    if not quotes:
        return f"No quotes attributed to {name!r}."
    return "\n".join(format_quote(q, i) for i, q in enumerate(quotes, 1))


HELP = """Ask a question about {the}, or:
  /sources        articles in the index
  /who [name]     quotes by a source, or all sources
  /more           more passages for the last question
  /context        the paragraph around the last answer, with its neighbours
  /quit           leave (Ctrl-D works too)"""


def help_text(words: Wording) -> str:
    """The chat's /help, worded for the index."""
    return HELP.format(the=words.the)


@contextlib.contextmanager
def chat_logging(log_file: Path) -> Iterator[None]:
    """Keep log lines out of the conversation while the chat runs.

    Handlers that write to the terminal are raised to WARNING (a problem is still seen at once);
    everything the bot's loggers say at their level goes to `log_file` instead. Restored after.
    """
    root = logging.getLogger()
    raised = []
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            raised.append((handler, handler.level))
            handler.setLevel(max(handler.level, logging.WARNING))
    file_handler: logging.Handler | None = None
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
    except OSError:
        pass  # no writable cache folder: the INFO lines are dropped, warnings still reach stderr
    if file_handler is not None:
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("bot").addHandler(file_handler)
    try:
        yield
    finally:
        if file_handler is not None:
            logging.getLogger("bot").removeHandler(file_handler)
            file_handler.close()
        for handler, level in raised:
            handler.setLevel(level)


class LineReader:
    """Reads the chat's lines: `input()` with readline and saved history at a terminal, else plain lines."""

    def __init__(self, stdin: TextIO, stdout: TextIO, history: Path | None) -> None:
        self.stdin, self.stdout = stdin, stdout
        self.history = history
        self.readline = None
        if stdin is sys.stdin and stdout is sys.stdout and stdin.isatty():
            with contextlib.suppress(ImportError):
                import readline  # importing it gives input() line editing; absent on some platforms

                self.readline = readline
        self.interactive = stdin.isatty()
        if self.readline is not None and history is not None:
            self.readline.set_history_length(HISTORY_LENGTH)
            with contextlib.suppress(OSError):
                self.readline.read_history_file(history)

    def read(self) -> str | None:
        """The next line, or None at end of input (Ctrl-D)."""
        if self.readline is not None:
            self.stdout.write("\n")  # a blank line, then the prompt readline redraws while editing
            self.stdout.flush()
            try:
                return input("> ")
            except EOFError:
                self.stdout.write("\n")
                return None
        if self.interactive:
            self.stdout.write("\n> ")
            self.stdout.flush()
        line = self.stdin.readline()
        return line if line else None

    def save(self) -> None:
        """Write the history back (readline keeps the last HISTORY_LENGTH lines)."""
        if self.readline is None or self.history is None:
            return
        with contextlib.suppress(OSError):
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(self.history)


def chat(
    engine: Engine,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    *,
    history: Path | None = None,
    log_file: Path | None = None,
) -> int:
    """An interactive question loop over the engine; returns the exit code.

    `history` (default: chat-history in the cache folder) keeps the lines typed at a terminal;
    `log_file` (default: chat.log there) receives the log lines the chat keeps off the screen.
    """
    folder = default_cache_dir()  # $XDG_CACHE_HOME/report-bot or ~/.cache/report-bot
    reader = LineReader(stdin, stdout, history or folder / "chat-history")
    with chat_logging(log_file or folder / "chat.log"):
        try:
            return _converse(engine, reader, stdout)
        finally:
            reader.save()


def _converse(engine: Engine, reader: LineReader, stdout: TextIO) -> int:
    say: Callable[[str], None] = lambda text: print(text, file=stdout, flush=True)  # noqa: E731
    words = engine.wording()
    version = engine.version
    say(f"Ask about {words.the} (/help for commands, /quit to leave).")
    last_question: str | None = None
    last_answer: Answer | None = None
    shown = 0
    while True:
        line = reader.read()
        if line is None:
            return 0
        line = line.strip()
        if not line:
            continue
        command, _, arg = line.partition(" ")
        try:
            if command in ("/quit", "/exit", "/q"):
                return 0
            live = engine.version
            if live != version:  # a build published a new index since the last line
                version, words = live, engine.wording()
                say(f"(index updated: {words.count()})")
            if command == "/help":
                say(help_text(words))
            elif command == "/sources":
                say(format_sources(engine))
            elif command == "/who":
                say(format_speakers(engine, arg.strip()))
            elif command == "/more":
                if last_question is None:
                    say("Ask a question first.")
                    continue
                extra = engine.more(last_question, shown).quotes
                say("\n".join(format_quote(q, i) for i, q in enumerate(extra, shown + 1)) or "No more passages.")
                shown += len(extra)
            elif command == "/context":
                if not last_answer or not last_answer.quotes:
                    say("Ask a question first.")
                    continue
                rows = engine.context(last_answer.quotes[0].passage_id)
                say("\n\n".join(_wrap(f"¶{n} {text}", "") for n, _, text in rows))
            elif command.startswith("/"):
                say(f"Unknown command {command}. " + help_text(words))
            else:
                last_question = line
                last_answer = engine.answer(line)
                shown = len(last_answer.quotes)
                say(format_answer(last_answer, words))
        except ReportBotError as exc:
            say(exc.describe())
