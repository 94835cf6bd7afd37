"""The package's folders are the pipeline's stages, and imports only point down it.

A building block that imported the engine, or the engine a face, would make the layout lie about
the architecture (and, with lazy imports, hide cycles until run time), so every `import` in `bot/`,
lazy ones included, is read from the source and checked against the ranks below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

#: Lower ranks are used by higher ones, never the reverse; stages of one rank don't import each other.
RANKS = {
    "errors": 0,
    "settings": 1,
    "corpus": 2,
    "text": 3,
    "embedding": 4,
    "index": 5,
    "retrieval": 6,
    "evaluation": 7,
    "build": 8,
    "engine": 8,
    "terminal": 9,  # the terminal chat, which `scripts/query.py` opens without a question
    "cli": 10,
    "telegram": 10,
    "__main__": 11,
    "": 11,  # bot/__init__.py re-exports the public API
}


def stage(module: str) -> str:
    """`bot.retrieval.search` → `retrieval`; `bot` → ``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports() -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) for every import of `bot` inside `bot/`."""
    found = []
    for path in sorted(BOT.rglob("*.py")):
        module = ".".join(path.relative_to(BOT.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.module
                and node.module.split(".")[0] == "bot"
            ):
                targets = [f"bot.{a.name}" for a in node.names] if node.module == "bot" else [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "bot"]
            else:
                continue
            found += [(module, target, node.lineno) for target in targets]
    return found


def test_every_stage_is_ranked() -> None:
    stages = {stage(m) for m, _, _ in imports()} | {stage(t) for _, t, _ in imports()}
    assert stages <= set(RANKS) | {"data", "models"}, stages - set(RANKS)


def test_imports_point_down_the_pipeline() -> None:
    upward = [
        f"{m}:{line} imports {t}"
        for m, t, line in imports()
        if stage(m) != stage(t) and RANKS.get(stage(t), 0) >= RANKS[stage(m)]
    ]
    assert not upward, "\n".join(upward)


def test_no_relative_imports() -> None:
    """Absolute imports keep the test above exact: a relative one would hide its target's stage."""
    relative = [
        f"{path}:{node.lineno}"
        for path in BOT.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert not relative, relative


@pytest.mark.parametrize("name", ["answer", "Answer", "Engine"])
def test_public_names_survive_importing_the_engine(name: str) -> None:
    """`bot.answer` is the function after `import bot.engine`, not a module that shadows it."""
    import bot
    import bot.engine

    assert callable(getattr(bot, name))


#: The faces: they format what the engine returns and never reach the index themselves.
FACES = ("telegram", "cli", "terminal", "__main__")


def test_faces_do_not_import_the_index() -> None:
    """A face that read the index would bypass the engine's API (and break with another backend)."""
    reaching = [f"{m}:{line} imports {t}" for m, t, line in imports() if stage(m) in FACES and stage(t) == "index"]
    assert not reaching, "\n".join(reaching)


def test_faces_do_not_reach_the_engines_reader() -> None:
    """`engine.reader` is the engine's own: faces ask the engine (`about`, `version`, `more`...)."""
    reaching = [
        f"{path}:{node.lineno}"
        for path in BOT.rglob("*.py")
        if stage(".".join(path.relative_to(BOT.parent).with_suffix("").parts)) in FACES
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "reader"
    ]
    assert not reaching, reaching


#: What faces may take from retrieval: the answer records the engine returns, which they format.
RETRIEVAL_FOR_FACES = {"bot.retrieval.answers"}


def test_faces_take_only_the_answer_records_from_retrieval() -> None:
    """Models, thresholds and scoring are the engine's: a face asks it (`Engine.decision` for /about)."""
    reaching = [
        f"{m}:{line} imports {t}"
        for m, t, line in imports()
        if stage(m) in FACES and stage(t) == "retrieval" and t not in RETRIEVAL_FOR_FACES
    ]
    assert not reaching, "\n".join(reaching)


#: SQL outside the index package: a connection, a statement run, or SQL text.
_SQL = re.compile(r"\bsqlite3\b|\.execute(?:many|script)?\(|\bSELECT\s+[\w*(]|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b")
#: The embedding cache is its own SQLite database (vectors by text hash, shared by every build),
#: not the index: it lives beside the embedder it serves. `errors.py` names `sqlite3.Error` (as
#: `SQLiteError`, which the build catches) to word storage failures. The Telegram workers' shared
#: state (buttons, flood counts, send budget) is the bot's own small database, not the index.
SQL_ALLOWED = {"bot/embedding/cache.py", "bot/errors.py", "bot/telegram/shared.py"}


def test_no_sql_outside_the_index_package() -> None:
    found = [
        f"{rel}:{n}: {line.strip()}"
        for path in sorted(BOT.rglob("*.py"))
        if (rel := str(path.relative_to(BOT.parent))) not in SQL_ALLOWED and not rel.startswith("bot/index/")
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if _SQL.search(line)
    ]
    assert not found, "\n".join(found)
