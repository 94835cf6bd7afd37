"""Ask a news report questions; get back its own words, with who said them.

The public API is small: `answer(question)` with the default engine, or an `Engine` of your own;
the result is an `Answer` of `Quote`s. Everything else is implementation.

The names are imported on first use (PEP 562), so that `import bot.cli.query` for `--help` does
not pull in numpy, FAISS and the engine.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.engine import Engine, answer
    from bot.errors import IndexUnavailable, ReportBotError
    from bot.retrieval.answers import Answer, Quote
    from bot.settings import Settings
    from bot.text.speaker import Speaker

# OpenMP threads (torch's and FAISS's) that busy-wait between parallel regions turn a 10 ms query
# embedding into ~1 s when the cores are shared (measured at load 8 on 2 cores: 1,218 ms vs
# 18-33 ms with PASSIVE). It must be set before torch or faiss is loaded, hence here; an explicit
# setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_WHERE = {
    "Answer": "bot.retrieval.answers",
    "Quote": "bot.retrieval.answers",
    "Speaker": "bot.text.speaker",
    "Engine": "bot.engine",
    "answer": "bot.engine",
    "IndexUnavailable": "bot.errors",
    "ReportBotError": "bot.errors",
    "Settings": "bot.settings",
}

__all__ = ["Answer", "Engine", "IndexUnavailable", "Quote", "ReportBotError", "Settings", "Speaker", "answer"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
