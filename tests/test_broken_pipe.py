"""A closed stdout (`... | head`) ends every command quietly: no traceback, no "Exception ignored".

Issue 16, family 8. The reader is made to go away for real: stdout is the write end of an OS pipe
whose read end is closed, either before the command writes anything (the deterministic case: the
first write fails with EPIPE) or after one line has been read, as `head -1` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.index.embedded import EmbeddedReader
from tests.conftest import MULTI_CORPUS, ROOT

QUESTIONS = "".join(f'{{"id": {i}, "q": "How many people were killed in the floods?"}}\n' for i in range(200))


def run_into_closed_pipe(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[bytes]:
    """Run a command whose stdout is a pipe nobody reads any more."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            input=stdin.encode(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=300,
        )
    finally:
        os.close(write_end)


def assert_quiet(stderr: bytes) -> None:
    text = stderr.decode("utf-8", "replace")
    for noise in ("Traceback", "BrokenPipeError", "Exception ignored", "Errno 32"):
        assert noise not in text, text


@pytest.fixture
def built(tmp_path: Path, multi_index: Path) -> tuple[Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(MULTI_CORPUS, corpus)
    shutil.copytree(multi_index, index)
    return corpus, index


COMMANDS = {
    "query text": ["scripts/query.py", "How many people were killed in the floods?"],
    "query --json": ["scripts/query.py", "--json", "How many people were killed in the floods?"],
    "query --json --batch": ["scripts/query.py", "--json", "--batch"],
    "query --speakers": ["scripts/query.py", "--speakers"],
    "build --dry-run": ["scripts/build_index.py", "--dry-run"],
    "build": ["scripts/build_index.py", "--quiet", "--full"],
    "add --no-build": ["scripts/add_article.py", "{source}", "--no-build"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_exits_quietly_into_a_closed_pipe(name: str, built: tuple[Path, Path], tmp_path: Path):
    """stdout's reader gone before the first write: exit 141 and not a word on stderr."""
    corpus, index = built
    source = tmp_path / "ferry.txt"
    source.write_text("Ferry stops\n\nThe night ferry stops in October, the harbour board said.\n", encoding="utf-8")
    args = [a.replace("{source}", str(source)) for a in COMMANDS[name]]
    result = run_into_closed_pipe([*args, "--corpus", str(corpus), "--index", str(index)], stdin=QUESTIONS)
    assert_quiet(result.stderr)
    assert result.returncode == 141, result.stderr
    if name == "build":  # the work was done before the summary failed to print
        assert EmbeddedReader(index).version


@pytest.mark.slow
def test_batch_piped_into_head_1(built: tuple[Path, Path]):
    """`query.py --json --batch < 200 questions | head -1`: one line out, then a quiet exit."""
    _, index = built
    proc = subprocess.Popen(
        [sys.executable, "scripts/query.py", "--json", "--batch", "--index", str(index)],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    proc.stdin.write(QUESTIONS.encode())
    proc.stdin.close()
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    assert proc.wait(timeout=300) == 141
    assert b'"id": 0' in first
    assert_quiet(proc.stderr.read())
