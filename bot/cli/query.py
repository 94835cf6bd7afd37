"""`scripts/query.py` / `report-query`: ask the report from the command line.

Contract (design notes): a readable answer on stdout; `--json` one object; `--json --batch`
JSONL in, JSONL out, in order, model loaded once; errors on stderr with a hint, non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.cli.common import add_path_options, fail, settings_from_args
from bot.errors import ReportBotError


def parser() -> argparse.ArgumentParser:
    """The argument parser (also read by the tests that check every option is documented)."""
    p = argparse.ArgumentParser(
        prog="query.py",
        description="Answer a question with quotes from the report, each with its speaker and source.",
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


def _read_question(line: str) -> tuple[Any, str | None]:
    """The id and question of one batch line; the question is None when the line is unusable."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        return None, None
    if not isinstance(item, dict):
        return None, None
    question = item.get("q")
    return item.get("id"), question if isinstance(question, str) else None


def _batch(engine: Any, k: int | None) -> int:
    """JSONL in, JSONL out, in order; a bad line gets an error object and the rest go on."""
    status = 0
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        ident, question = _read_question(line)
        if question is None:
            error = f"line {lineno}: expected a JSON object with a string 'q'"
            print(json.dumps({"id": ident, "error": error}), flush=True)
            status = 1
            continue
        answer = engine.answer(question, k)
        print(json.dumps(answer.to_dict(ident), ensure_ascii=False), flush=True)
    return status


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
                print(format_speakers(engine, args.speaker or ""))
            return 0
        if args.batch:
            engine.reader  # fail fast, before reading stdin, when there is no index  # noqa: B018
            return _batch(engine, args.k)
        if args.question is None:
            if sys.stdin.isatty() and not args.json:
                engine.reader  # noqa: B018
                return chat(engine)
            parser().error("give a question (or --json --batch with questions on stdin)")
        answer = engine.answer(args.question, args.k)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            print(format_answer(answer))
        return 0
    except ReportBotError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
