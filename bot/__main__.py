"""`python -m bot`: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else the terminal chat."""

from __future__ import annotations

import logging
import sys

from bot.cli.common import command, configure_logging, fail
from bot.errors import IndexUnavailable, ReportBotError
from bot.settings import get_settings


@command
def main(argv: list[str] | None = None) -> int:
    """Start the face the settings ask for (`argv` is unused: the settings say everything)."""
    try:
        settings = get_settings()
    except ReportBotError as exc:  # an invalid setting: one line naming it, not a traceback
        return fail(exc)
    configure_logging(settings.log_level)
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
