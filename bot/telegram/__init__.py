"""The Telegram face: `run(engine, settings)` starts the bot; `build_application` wires it for tests."""

from bot.telegram.app import build_application, run, running

__all__ = ["build_application", "run", "running"]
