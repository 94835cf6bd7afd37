"""The install split: `make run` needs Python only; node, npm and the [dev] tools are for `make test`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_CORPUS

MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make_dry_run(target: str) -> str:
    """Every command `make TARGET` would run from scratch (-B: as if nothing were installed yet)."""
    assert MAKE is not None
    # Run as from a shell even inside `make test` (as CI runs it): a parent make's MAKELEVEL and
    # MAKEFLAGS would add "make[1]: Entering directory" lines around the commands.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    out = subprocess.run(
        [MAKE, "--no-print-directory", "-n", "-B", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


@needs_make
def test_make_run_installs_runtime_dependencies_only():
    commands = make_dry_run("run")
    assert "pip install --quiet -e ." in commands  # the runtime dependencies
    assert "npm" not in commands and "node_modules" not in commands
    assert "[dev]" not in commands
    assert "milvus" not in commands  # SEARCH_BACKEND=milvus is an extra, `make milvus` or `make test`
    assert commands.rstrip().endswith("-m bot")


@needs_make
def test_make_test_adds_dev_extras_and_the_emulator():
    commands = make_dry_run("test")
    assert "-e '.[dev,milvus]'" in commands
    assert "npm ci" in commands
    assert "-m pytest" in commands


@needs_make
@pytest.mark.parametrize("target", ["test", "lint"])
def test_make_test_and_lint_check_format_and_types(target: str):
    """`ruff format --check` and mypy (strict over bot/, [tool.mypy]) run before the suite, as CI runs it."""
    commands = make_dry_run(target).splitlines()
    checks = [i for i, c in enumerate(commands) if c.endswith(("-m ruff format --check .", "-m mypy"))]
    assert len(checks) == 2
    if target == "test":
        assert max(checks) < next(i for i, c in enumerate(commands) if c.endswith("-m pytest"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["mypy"]["strict"] is True and project["tool"]["mypy"]["files"] == ["bot"]
    assert any(req.startswith("mypy==") for req in project["project"]["optional-dependencies"]["dev"])


@needs_make
def test_make_milvus_serves_on_loopback_with_data_in_dot_milvus():
    commands = make_dry_run("milvus")
    assert "-e '.[milvus]'" in commands
    assert commands.rstrip().endswith("-m milvus_lite server --host 127.0.0.1 --port 19530 --data-dir .milvus")
    assert ".milvus/" in (ROOT / ".gitignore").read_text().splitlines()


@needs_make
@pytest.mark.slow
def test_make_run_works_without_npm_on_path(tmp_path: Path):
    """`make run` with the venv already set up and no npm (nor node) anywhere on PATH.

    The venv's install stamp is taken as up to date (`-o`), so nothing is fetched from the network;
    everything else runs for real: the index is built from the seed corpus, then `python -m bot`
    opens the terminal chat, which answers a question from stdin and ends at end of input.
    """
    assert MAKE is not None
    venv = Path(sys.prefix)
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {
        **os.environ,
        "PATH": str(empty),
        "HF_HUB_OFFLINE": "1",
        "INDEX_DIR": str(tmp_path / "index"),
        "CORPUS_DIR": str(SEED_CORPUS),
        "TELEGRAM_BOT_TOKEN": "",
    }
    assert shutil.which("npm", path=env["PATH"]) is None and shutil.which("node", path=env["PATH"]) is None
    result = subprocess.run(
        [MAKE, f"VENV={venv}", "-o", f"{venv}/.installed", "run"],
        cwd=ROOT,
        env=env,
        input="How many Russian air strikes were counted over Idlib and Hama?\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "npm" not in result.stdout + result.stderr
    assert "indexed 1 " in result.stdout  # the build ran
    assert "SOHR confirmed on Thursday.»" in result.stdout


def test_licence_is_an_spdx_expression_without_deprecation_warnings(tmp_path: Path):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    assert any(req.replace(" ", "") == "setuptools>=77" for req in project["build-system"]["requires"])
    # Prepare the metadata as pip's build does, in a copy, and read what setuptools says.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "out").mkdir()
    code = "from setuptools import build_meta; print(build_meta.prepare_metadata_for_build_wheel('out'))"
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "deprecat" not in (result.stdout + result.stderr).lower()
    metadata = next((tmp_path / "out").glob("*.dist-info/METADATA")).read_text(encoding="utf-8")
    assert "License-Expression: MIT" in metadata
