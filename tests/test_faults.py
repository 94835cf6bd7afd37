"""Faults: builds killed at random points, and rebuilds while questions are being answered."""

from __future__ import annotations

import os
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
from tests.conftest import ROOT, SEED_FILE

QUESTION = "How many Russian air strikes were counted over Idlib and Hama?"


def write_corpus(corpus: Path, copies: int, tag: str) -> None:
    """`copies` variants of the seed article: distinct files sharing most sentences (cheap to embed)."""
    corpus.mkdir(exist_ok=True)
    seed = SEED_FILE.read_text(encoding="utf-8")
    for i in range(copies):
        text = seed.replace("title: Syrian regime", f"title: ({tag} {i}) Syrian regime", 1)
        text += f"\n\nEditor's note {tag} {i}: this copy exists to make the build longer, officials said.\n"
        (corpus / f"copy-{i:02d}.md").write_text(text, encoding="utf-8")


def build_cmd(corpus: Path, index: Path) -> list[str]:
    return [
        sys.executable,
        "scripts/build_index.py",
        "--full",
        "--quiet",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
    ]


@pytest.mark.slow
@pytest.mark.timeout(900)  # 20 build processes: slow when the machine is shared
def test_kill_9_at_20_random_points_leaves_a_loadable_index(tmp_path: Path, embedder: Embedder):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, 12, "a")
    build_index(corpus, index, embedder)  # the index to protect; also warms the vector cache
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    subprocess.run(build_cmd(corpus, index), cwd=ROOT, env=env, check=True, capture_output=True)
    duration = time.perf_counter() - started  # a cached full build: no model load, mostly writing
    rng = random.Random(20)
    swapped = 0
    for round_no in range(20):
        write_corpus(corpus, 12, f"r{round_no}")  # every build has something new to write
        before = current_version(index)
        proc = subprocess.Popen(
            build_cmd(corpus, index), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if round_no % 2:
            # Half the kills land while the new version is being written: after `.partial` appears.
            while proc.poll() is None and not any((index / VERSIONS).glob("*.partial")):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
        else:
            time.sleep(rng.uniform(0.05, 1.0) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        swapped += current_version(index) != before
        reader = EmbeddedReader(index)  # loads: manifest, FAISS and SQLite agree
        engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
        answer = engine.answer(QUESTION)
        assert answer.answered and "Over 40 air strikes" in answer.quotes[0].text
        assert reader.manifest.counts["passages"] == reader.passage_index.ntotal
    # The next build cleans up whatever the kills left behind.
    build_index(corpus, index, embedder, full=True)
    leftovers = [p.name for p in (index / VERSIONS).iterdir() if p.name.endswith(".partial")]
    assert leftovers == []
    print(f"20 kills over {duration:.2f} s builds; {swapped} landed after the swap")


def test_rebuilds_while_answering(tmp_path: Path, embedder: Embedder):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, 3, "base")
    build_index(corpus, index, embedder)
    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
    errors: list[BaseException] = []
    answers = 0
    stop = threading.Event()

    def ask() -> None:
        nonlocal answers
        while not stop.is_set():
            try:
                answer = engine.answer(QUESTION)
                titles = {q.article.title for q in answer.quotes}
                assert answer.answered and all(q.quote in q.text for q in answer.quotes)
                assert all(t.endswith("Syrian regime initiates second Russian-backed offensive") for t in titles)
                answers += 1
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)
                return

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    versions = set()
    for round_no in range(6):
        write_corpus(corpus, 3 + round_no % 3, f"v{round_no}")
        for extra in sorted(corpus.glob("copy-*.md"))[3 + round_no % 3 :]:
            extra.unlink()
        versions.add(build_index(corpus, index, embedder).version)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert len(versions) == 6 and answers > 0
    assert engine.reader.version == current_version(index)
