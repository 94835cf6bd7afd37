"""`python -m bot`: the Telegram bot when TELEGRAM_BOT_TOKEN is set, else the terminal chat."""

from __future__ import annotations

import sys

from bot.cli.common import configure_logging, fail
from bot.errors import ReportBotError
from bot.settings import get_settings


def main() -> int:
    """Start the face the settings ask for."""
    settings = get_settings()
    configure_logging(settings.log_level)
    from bot.engine import Engine

    engine = Engine(settings)
    try:
        engine.reader  # a missing index is reported before anything starts  # noqa: B018
        if settings.telegram_bot_token is not None and settings.telegram_bot_token.get_secret_value():
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
