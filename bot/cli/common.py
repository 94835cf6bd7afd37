"""What every command shares: the --corpus/--index options, settings from them, error printing."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.errors import ReportBotError
from bot.settings import Settings, load_settings


def add_path_options(parser: argparse.ArgumentParser) -> None:
    """`--corpus DIR` and `--index DIR`, defaulting to the settings (corpus/ and index/)."""
    parser.add_argument("--corpus", type=Path, metavar="DIR", help="corpus folder (default: CORPUS_DIR, corpus/)")
    parser.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: INDEX_DIR, index/)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings with the command-line paths applied on top of environment and `.env`.

    Raises `ConfigError` (one line, naming the setting) when a value is invalid.
    """
    overrides = {}
    if getattr(args, "corpus", None) is not None:
        overrides["corpus_dir"] = args.corpus
    if getattr(args, "index", None) is not None:
        overrides["index_dir"] = args.index
    settings = load_settings(**overrides)
    configure_logging(settings.log_level)
    return settings


def configure_logging(level: str) -> None:
    """Our loggers at `level` on stderr; chatty libraries kept at WARNING (httpx logs URLs with the token)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("bot").setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "sentence_transformers", "transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(error: ReportBotError) -> int:
    """Print a user-facing error and its hint on stderr; the exit code for it."""
    print(error.describe(), file=sys.stderr)
    return 1
