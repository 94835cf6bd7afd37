"""Ask a news report questions; get back its own words, with who said them.

The public API is small: `answer(question)` with the default engine, or an `Engine` of your own;
the result is an `Answer` of `Quote`s. Everything else is implementation.
"""

from bot.answer import Answer, Quote
from bot.attribution import Speaker
from bot.engine import Engine, answer
from bot.errors import IndexUnavailable, ReportBotError
from bot.settings import Settings

__all__ = ["Answer", "Engine", "IndexUnavailable", "Quote", "ReportBotError", "Settings", "Speaker", "answer"]
