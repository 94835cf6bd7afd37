"""A build is safe: one at a time (the second says who holds the lock), killable at any point
without harming the live index, and cleaned up after; --watch rebuilds and stops on Ctrl-C."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.engine import Engine
from bot.index.embedded import EmbeddedReader
from bot.index.manifest import VERSIONS, current_version
from bot.settings import Settings
from tests.conftest import ROOT, run_script

HOLD_LOCK = """
import sys, time
from pathlib import Path
from bot.build.lock import BuildLock
with BuildLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 120)
"""


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def lines_of(proc: subprocess.Popen) -> queue.Queue[str]:
    """Stdout lines of a running process, readable with a timeout."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue[str], prefix: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if line.startswith(prefix):
            return line


def test_second_build_says_who_holds_the_lock(multi_copy: tuple[Path, Path]):
    corpus, index = multi_copy
    holder = start("-c", HOLD_LOCK, str(index))
    try:
        wait_for(lines_of(holder), "locked", timeout=30)
        result = run_script(
            "scripts/build_index.py",
            "--full",
            "--corpus",
            str(corpus),
            "--index",
            str(index),
            env={"BUILD_LOCK_WAIT_SECONDS": "1"},
        )
        assert result.returncode == 1
        assert "waiting up to 1 s for it to finish" in result.stderr  # it waited, then gave up
        assert (
            result.stderr.rstrip()
            .splitlines()[-2]
            .startswith(f"error: another build is running on this index (pid {holder.pid}, since ")
        )
        assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
    # Once the holder is gone (even killed), the lock is free again.
    again = run_script("scripts/build_index.py", "--corpus", str(corpus), "--index", str(index))
    assert again.returncode == 0, again.stderr


def test_a_build_waits_for_the_running_one_and_then_builds(multi_copy: tuple[Path, Path]):
    corpus, index = multi_copy
    holder = start("-c", HOLD_LOCK, str(index), "6")
    try:
        wait_for(lines_of(holder), "locked", timeout=30)
        started = time.monotonic()
        result = run_script("scripts/build_index.py", "--full", "--corpus", str(corpus), "--index", str(index))
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 0, result.stderr
    assert f"another build is running on this index (pid {holder.pid}, since " in result.stderr
    assert "waiting up to 60 s for it to finish" in result.stderr  # the default BUILD_LOCK_WAIT_SECONDS
    assert "indexed " in result.stdout and waited >= 1


def test_leftover_partial_versions_are_cleaned_by_the_next_build(multi_copy: tuple[Path, Path], embedder: Embedder):
    corpus, index = multi_copy
    leftover = index / VERSIONS / "20240101T000000-1-000001.partial"
    leftover.mkdir()
    (leftover / "store.sqlite").write_bytes(b"half written")
    stray = index / ".CURRENT.12345"
    stray.write_text("20240101T000000-1-000001.partial\n")
    report = build_index(corpus, index, embedder)
    assert report.up_to_date
    assert not leftover.exists() and not stray.exists()
    EmbeddedReader(index)


@pytest.mark.slow
def test_killing_a_build_at_any_point_leaves_the_previous_index_usable(
    multi_copy: tuple[Path, Path], embedder: Embedder
):
    corpus, index = multi_copy
    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
    question = "How many people were killed in the floods?"
    expected = "At least 23 people were killed"
    rng = random.Random(20241126)
    kills = 0
    for round_no in range(5):
        # Fresh text each round, so the build has something to embed (model load, encode, write).
        (corpus / f"note-{round_no}.md").write_text(
            f"---\ntitle: Council note {round_no}\npublisher: Example News\n---\n"
            f"The council met for the {round_no + 1}th time on Monday, its chair said.\n",
            encoding="utf-8",
        )
        before = current_version(index)
        build = start("scripts/build_index.py", "--full", "--quiet", "--corpus", str(corpus), "--index", str(index))
        # Kill while the new version is being written: as soon as it appears (round 0), then at
        # random moments after that (however fast the machine, the kill lands mid-write or later).
        deadline = time.monotonic() + 90
        while not list((index / VERSIONS).glob("*.partial")) and build.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        if round_no:
            time.sleep(rng.uniform(0.0, 0.3))
        if build.poll() is None:
            build.send_signal(signal.SIGKILL)
            kills += 1
        build.wait(timeout=60)
        # Whatever the moment, a complete index is live: the old one, or the new one if it got there.
        reader = EmbeddedReader(index)
        assert reader.version == before or reader.manifest.counts["articles"] >= 7
        answer = engine.answer(question)
        assert answer.answered and any(expected in q.text for q in answer.quotes), round_no
    assert kills >= 1  # round 0 is killed the moment its new version appears
    report = build_index(corpus, index, embedder)
    assert not list((index / VERSIONS).glob("*.partial"))
    reader = EmbeddedReader(index)
    assert reader.manifest.counts["articles"] == 12 and report.articles == 12


@pytest.mark.slow
def test_watch_rebuilds_on_change_and_stops_cleanly_on_ctrl_c(multi_copy: tuple[Path, Path]):
    corpus, index = multi_copy
    watcher = start(
        "scripts/build_index.py",
        "--watch",
        "--quiet",
        "--debounce",
        "200",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
    )
    try:
        lines = lines_of(watcher)
        assert wait_for(lines, "index up to date")
        wait_for(lines, "watching")
        before = current_version(index)
        (corpus / "lighthouse.md").write_text(
            "---\ntitle: Lighthouse keeper retires\npublisher: Harbour Gazette\n---\n"
            "Edda Marrow switched off the Carrick Point lamp for the last time, the harbour board said.\n",
            encoding="utf-8",
        )
        assert "lighthouse.md" in wait_for(lines, "corpus changed")
        built = wait_for(lines, "indexed 8 articles")
        assert "1 added, 0 changed, 0 removed, 7 unchanged" in built
        wait_for(lines, "watching")
        assert current_version(index) != before
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=30) == 0
        assert wait_for(lines, "stopped watching", timeout=5)
        assert "Traceback" not in watcher.stderr.read()  # type: ignore[union-attr]
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
