"""`scripts/query.py` / `report-query`: ask the report from the command line.

Contract (design notes): a readable answer on stdout; `--json` one object; `--json --batch`
JSONL in, JSONL out, in order, model loaded once; errors on stderr with a hint, non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from bot.cli.common import add_path_options, command, fail, settings_from_args
from bot.errors import ReportBotError


def parser() -> argparse.ArgumentParser:
    """The argument parser (also read by the tests that check every option is documented)."""
    p = argparse.ArgumentParser(
        prog="query.py",
        description="Answer a question with quotes from the indexed articles (the report), each with its speaker "
        "and source.",
        epilog="With no question and a terminal on stdin, opens the interactive chat.",
    )
    p.add_argument("question", nargs="?", help="the question (quote it in the shell)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument(
        "--batch",
        action="store_true",
        help='with --json: read {"id": ..., "q": ...} lines on stdin, write one JSON line each',
    )
    p.add_argument("-k", type=int, metavar="N", help="number of passages (default: TOP_K setting)")
    p.add_argument("--speaker", metavar="NAME", help="list the quotes attributed to NAME instead of answering")
    p.add_argument("--speakers", action="store_true", help="list the named sources with their quote counts")
    add_path_options(p)
    return p


_SURROGATE = re.compile("[\ud800-\udfff]")


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _finite_or_text(text: str) -> float | str:
    """A JSON number as a float, or as its own text when it does not fit one (`1e999`)."""
    value = float(text)
    return value if math.isfinite(value) else text


def utf8_safe(text: str) -> str:
    """`text` with lone surrogates (JSON escapes of half a pair, undecodable argv bytes) made U+FFFD.

    They cannot be written as UTF-8, nor tokenised: one such line used to end a batch with a traceback.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def read_question(line: str) -> tuple[Any, str | None, str | None]:
    """The id and question of one batch line, or the id and why the line cannot be used.

    Any JSON the decoder refuses (syntax, nesting deeper than it recurses, a 5,000-digit integer)
    is a bad line; `NaN`, `Infinity` and numbers beyond a float become their text, so that the
    echoed id is still valid JSON.
    """
    try:
        item = json.loads(line, parse_constant=str, parse_float=_finite_or_text)
    except RecursionError:
        return None, None, "not usable JSON (nested too deeply)"
    except ValueError as exc:  # JSONDecodeError, and int() refusing thousands of digits
        return None, None, f"not JSON ({str(exc)[:120]})"
    if not isinstance(item, dict):
        return None, None, f"expected a JSON object with a string 'q', got {type(item).__name__}"
    question = item.get("q")
    if not isinstance(question, str):
        return item.get("id"), None, "expected a JSON object with a string 'q'"
    return item.get("id"), question, None


def dump_line(data: dict[str, Any]) -> str:
    """One JSON line that any JSON reader accepts: no NaN, no lone surrogate, no line break.

    NEL and the Unicode line and paragraph separators are valid raw in JSON strings, but readers
    that split lines on them (Python's `str.splitlines`, JavaScript before ES2019) would cut the
    object in two: they are written as escapes.

    An id that still cannot be written (nested deeper than the encoder recurses) is replaced by
    null with an error saying so.
    """
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (ValueError, RecursionError, TypeError):
        data = {**data, "id": None}
        data.setdefault("error", "the id cannot be written back as JSON")
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    return utf8_safe(text).translate(_LINE_BREAKS)


def run_batch(engine: Any, k: int | None, lines: Iterable[bytes], out: TextIO) -> int:
    """JSONL in, JSONL out, in order; every bad line gets an error object and the rest go on.

    Lines are read as bytes and decoded with undecodable bytes replaced, so one line in another
    encoding is an answer (or an error object), not the end of the batch. Returns 1 if any line
    was bad, else 0.
    """
    status = 0
    for lineno, raw in enumerate(lines, 1):
        line = raw.decode("utf-8", "replace")
        if lineno == 1:
            line = line.removeprefix("\ufeff")  # a BOM, as some editors save UTF-8
        if not line.strip():
            continue
        ident, question, error = read_question(line)
        if error is not None or question is None:
            out.write(dump_line({"id": ident, "error": f"line {lineno}: {error}"}) + "\n")
            out.flush()
            status = 1
            continue
        answer = engine.answer(utf8_safe(question), k)
        out.write(dump_line(answer.to_dict(ident)) + "\n")
        out.flush()
    return status


@command
def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    if args.k is not None and not 1 <= args.k <= 50:
        parser().error("-k must be between 1 and 50")
    if args.batch and not args.json:
        parser().error("--batch needs --json")
    if args.batch and args.question:
        parser().error("--batch reads questions from stdin: give no question argument")
    if args.question is not None and not args.question.strip():
        # An empty question is a mistake in the call, not a question the report fails to answer.
        parser().error('the question is empty: ask it in words, e.g. query.py "Who carried out the air strikes?"')
    try:
        settings = settings_from_args(args)
    except ReportBotError as exc:  # an invalid setting: one line, not a traceback
        return fail(exc)
    from bot.engine import Engine  # after argument checks: --help and usage errors stay instant
    from bot.terminal import chat, format_answer, format_speakers

    engine = Engine(settings)
    try:
        if args.speakers or args.speaker:
            if args.json:
                if args.speakers:
                    print(json.dumps([{"speaker": s, "quotes": n} for s, n in engine.speakers()], ensure_ascii=False))
                else:
                    print(json.dumps([q.to_dict() for q in engine.quotes_by(args.speaker)], ensure_ascii=False))
            else:
                print(format_speakers(engine, args.speaker or "", limit=None))
            return 0
        if args.batch:
            engine.about()  # fail fast, before reading stdin, when there is no index
            return run_batch(engine, args.k, sys.stdin.buffer, sys.stdout)
        if args.question is None:
            if sys.stdin.isatty() and not args.json:
                engine.about()
                return chat(engine)
            parser().error("give a question (or --json --batch with questions on stdin)")
        answer = engine.answer(utf8_safe(args.question), args.k)
        if args.json:
            print(dump_line(answer.to_dict()))
        else:
            print(format_answer(answer, engine.wording()))
        return 0
    except ReportBotError as exc:
        return fail(exc)


if __name__ == "__main__":
    sys.exit(main())
