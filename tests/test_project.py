"""Project hygiene: settings documented, public API guarded, CLI documented, light imports."""

from __future__ import annotations

import re
import subprocess
import sys

import bot
from bot.__main__ import parser as bot_parser
from bot.cli import add as add_cli
from bot.cli import attribute as attribute_cli
from bot.cli import build as build_cli
from bot.cli import evaluate as evaluate_cli
from bot.cli import query as query_cli
from bot.settings import Settings
from tests.conftest import ROOT


def test_every_setting_is_in_env_example_with_a_comment():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    keys = {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)}
    assert keys == {name.upper() for name in Settings.model_fields}
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            assert lines[i - 1].startswith("#"), f"{line} has no comment above it"


def test_public_api_exports():
    assert sorted(bot.__all__) == [
        "Answer",
        "Engine",
        "IndexUnavailable",
        "Quote",
        "ReportBotError",
        "Settings",
        "Speaker",
        "answer",
    ]
    for name in bot.__all__:
        assert getattr(bot, name) is not None


def test_every_cli_option_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for parser in (
        query_cli.parser(),
        build_cli.parser(),
        add_cli.parser(),
        evaluate_cli.parser(),
        attribute_cli.parser(),
        bot_parser(),
    ):
        for action in parser._actions:
            assert action.help, f"{action.option_strings} has no help"
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in readme, f"{parser.prog} {option} is not in the README"


def test_cli_help_does_not_import_the_model_stack():
    code = (
        "import sys; from bot.cli import query; query.parser().format_help(); "
        "import bot.engine, bot.build.run; print('sentence_transformers' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False False"


def test_query_path_never_loads_the_parser():
    # Attribution is read at build time; answering a question must not pay for spaCy.
    code = (
        "import sys; import bot, bot.engine, bot.retrieval.search, bot.retrieval.answers, bot.cli.query, bot.text.attribution; "
        "print('spacy' in sys.modules, 'bot.text.parse' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False False"


def test_env_is_git_ignored():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
