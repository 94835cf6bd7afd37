"""The terminal face: plain-text answers and the interactive chat that `make run` opens without a token."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from typing import TextIO

from bot.answer import Answer, Quote
from bot.citation import source_line
from bot.engine import Engine
from bot.errors import ReportBotError

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


def format_answer(answer: Answer) -> str:
    """A readable answer: the best quote, then supporting or related quotes."""
    out: list[str] = []
    if answer.notice:
        out.append(f"({answer.notice})")
    if not answer.quotes:
        out.append("The report has nothing on this.")
        return "\n".join(out)
    if answer.answered:
        out.append(format_quote(answer.quotes[0]))
        if len(answer.quotes) > 1:
            out.append("\nAlso in the report:")
            out.extend(format_quote(q, i) for i, q in enumerate(answer.quotes[1:], 2))
    else:
        out.append("The report does not answer this. The closest passages (related, not an answer):")
        out.extend(format_quote(q, i) for i, q in enumerate(answer.quotes, 1))
    return "\n".join(out)


def format_sources(engine: Engine) -> str:
    """The indexed articles with dates and passage counts."""
    rows = [
        f"- {source_line(meta, 0, 'paragraph').rsplit(' · ', 1)[0]} ({n} passages)" for meta, n in engine.articles()
    ]
    return "Articles in the index:\n" + "\n".join(rows)


def format_speakers(engine: Engine, name: str = "") -> str:
    """Quotes attributed to `name`, or every named source with its count."""
    if not name:
        rows = [f"- {speaker}: {n}" for speaker, n in engine.speakers()]
        return "Named sources (sentences attributed):\n" + "\n".join(rows)
    quotes = engine.quotes_by(name)
    if not quotes:
        return f"No quotes attributed to {name!r}."
    return "\n".join(format_quote(q, i) for i, q in enumerate(quotes, 1))


HELP = """Ask a question about the report, or:
  /sources        articles in the index
  /who [name]     quotes by a source, or all sources
  /more           more passages for the last question
  /context        the paragraph around the last answer, with its neighbours
  /quit           leave (Ctrl-D works too)"""


def chat(engine: Engine, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """An interactive question loop over the engine; returns the exit code."""
    say: Callable[[str], None] = lambda text: print(text, file=stdout, flush=True)  # noqa: E731
    interactive = stdin.isatty()
    say("Ask about the report (/help for commands, /quit to leave).")
    last_question: str | None = None
    last_answer: Answer | None = None
    shown = 0
    while True:
        if interactive:
            stdout.write("\n> ")
            stdout.flush()
        line = stdin.readline()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        command, _, arg = line.partition(" ")
        try:
            if command in ("/quit", "/exit", "/q"):
                return 0
            if command == "/help":
                say(HELP)
            elif command == "/sources":
                say(format_sources(engine))
            elif command == "/who":
                say(format_speakers(engine, arg.strip()))
            elif command == "/more":
                if last_question is None:
                    say("Ask a question first.")
                    continue
                more = engine.answer(last_question, shown + engine.settings.top_k)
                extra = more.quotes[shown:]
                say("\n".join(format_quote(q, i) for i, q in enumerate(extra, shown + 1)) or "No more passages.")
                shown += len(extra)
            elif command == "/context":
                if not last_answer or not last_answer.quotes:
                    say("Ask a question first.")
                    continue
                rows = engine.paragraph_context(last_answer.quotes[0].passage_id)
                say("\n\n".join(_wrap(f"¶{n} {text}", "") for n, _, text in rows))
            elif command.startswith("/"):
                say(f"Unknown command {command}. " + HELP)
            else:
                last_question = line
                last_answer = engine.answer(line)
                shown = len(last_answer.quotes)
                say(format_answer(last_answer))
        except ReportBotError as exc:
            say(exc.describe())
