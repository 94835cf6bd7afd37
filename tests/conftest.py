"""Shared fixtures: the real model (loaded once per session) and a real index of the seed corpus."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.settings import Settings

# A suite started in the background by a non-interactive shell (`make test &`, nohup) inherits
# SIGINT ignored, and every program it starts would too: the tests that press Ctrl-C on a build,
# a watch or a download would then wait for an exit that never comes. A Python-level handler is
# reset to the default at exec, so the programs under test get SIGINT delivered as users do.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED_CORPUS = ROOT / "corpus"
SEED_FILE = next(SEED_CORPUS.glob("*.md"))
RAW_SEED = next((SHARED / "seed").glob("*.txt"), None) if (SHARED / "seed").is_dir() else None


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The embedder the default settings make (onnx, int8), loaded once for the whole session.

    The same one the CLIs and the bot use, so indexes built here serve them in subprocesses too.
    tests/test_onnx_backend.py covers torch and fp32.
    """
    e = Embedder.from_settings(Settings(_env_file=None))
    e.encode(["warm up"])
    return e


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A real index (FAISS + SQLite) of the repository's corpus/ folder."""
    index = tmp_path_factory.mktemp("seed-index")
    build_index(SEED_CORPUS, index, embedder)
    return index


@pytest.fixture(scope="session")
def engine(seed_index: Path, embedder: Embedder) -> Engine:
    """The engine over the seed index, sharing the session's model."""
    return Engine(Settings(_env_file=None, index_dir=seed_index), embedder=embedder)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    dest = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, dest)
    return dest


def benchmark_module(name: str, folder: str = "benchmarks") -> ModuleType:
    """A module of `benchmarks/` or `scripts/` (not packages): the synthetic corpus generator, a fit's steps."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def run_script(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: int = 120):
    """Run a repository script with the test interpreter, as a user would, capturing output."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=timeout,
    )


def dev_questions() -> list[dict]:
    """The shared dev questions (`../shared/dev_questions.jsonl`)."""
    path = SHARED / "dev_questions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


MULTI_CORPUS = ROOT / "tests" / "data" / "multi"


@pytest.fixture(scope="session")
def multi_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A real index of the multi-article test corpus (read-only: copy it with `multi_copy`)."""
    index = tmp_path_factory.mktemp("multi-index")
    build_index(MULTI_CORPUS, index, embedder)
    return index


@pytest.fixture
def multi_copy(tmp_path: Path, multi_index: Path) -> tuple[Path, Path]:
    """Writable copies of the multi-article corpus and of its index (embedding cache included)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(MULTI_CORPUS, corpus)
    shutil.copytree(multi_index, index)
    return corpus, index


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as user `nobody` when the tests run as root, so that file permissions apply."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary folder anyone may use (pytest's own is private to root, which `nobody` cannot enter)."""
    path = Path(tempfile.mkdtemp(prefix="hostile-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        for p in path.rglob("*"):
            with contextlib.suppress(OSError):
                p.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)
