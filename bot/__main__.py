"""`python -m bot`: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else the terminal chat.

`--workers N` (or BOT_WORKERS=N) runs the bot as N worker processes behind a webhook
(`bot/telegram/workers.py`); `--worker I` is one of them, as the supervisor starts it.
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.cli.common import command, configure_logging, fail
from bot.errors import IndexUnavailable, ReportBotError
from bot.settings import get_settings


def parser() -> argparse.ArgumentParser:
    """`--workers N` and `--worker I`; everything else comes from the settings."""
    out = argparse.ArgumentParser(
        prog="python -m bot",
        description="The Telegram bot when TELEGRAM_BOT_TOKEN is set, else the terminal chat.",
    )
    workers = out.add_mutually_exclusive_group()
    workers.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run the bot as N worker processes behind a webhook (default: BOT_WORKERS, 1)",
    )
    workers.add_argument(
        "--worker",
        type=int,
        metavar="I",
        help="be worker I of several (what --workers starts): webhook port TELEGRAM_WEBHOOK_PORT + I, "
        "state shared in TELEGRAM_STATE_DIR",
    )
    return out


@command
def main(argv: list[str] | None = None) -> int:
    """Start the face the settings and arguments ask for."""
    args = parser().parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser().error("--workers must be 1 or more")
    if args.worker is not None and args.worker < 0:
        parser().error("--worker must be 0 or more")
    try:
        settings = get_settings()
    except ReportBotError as exc:  # an invalid setting: one line naming it, not a traceback
        return fail(exc)
    configure_logging(settings.log_level)
    workers = args.workers if args.workers is not None else settings.bot_workers
    try:
        if args.worker is not None:
            from bot.telegram.workers import worker_settings

            settings = worker_settings(settings, args.worker)
            for handler in logging.getLogger().handlers:  # which worker said it, in the shared log
                handler.setFormatter(
                    logging.Formatter(f"%(asctime)s %(levelname)s worker {args.worker} %(name)s: %(message)s")
                )
        elif workers > 1:
            from bot.telegram.workers import supervise

            return supervise(settings, workers)
    except ReportBotError as exc:
        return fail(exc)
    from bot.engine import Engine

    engine = Engine(settings)
    telegram = settings.telegram_bot_token is not None and bool(settings.telegram_bot_token.get_secret_value())
    try:
        try:
            engine.about()  # a missing index is reported before anything starts
        except IndexUnavailable as exc:
            if not telegram:
                raise
            # A service stays up: users are told the index is unavailable, and the engine picks up
            # the index as soon as a build publishes it.
            logging.getLogger("bot").warning(
                "%s; starting anyway, the bot answers once it is built (%s)", exc, exc.hint
            )
        if telegram:
            from bot.telegram.app import run

            return run(engine, settings)
        from bot.terminal import chat

        return chat(engine)
    except ReportBotError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
