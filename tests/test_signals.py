"""Signals (issue 16, family 12): SIGTERM cleans up like Ctrl-C; no traceback, no leftovers, and an add
cut short after writing its file says so with the command that finishes the job.

Real signals to real processes. Where the moment matters, the test waits for a visible sign that the
process is in the phase under test (the `.partial` folder, the server seeing the request, the
corpus file appearing) and sends the signal then; nothing is timed. The writer's constructor is
interrupted in-process, by a real SIGINT sent from a profile hook at each call it makes in turn.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.build.run import build_index
from bot.embedding.embedder import Embedder
from bot.index.embedded import EmbeddedReader
from bot.index.manifest import VERSIONS, current_version
from bot.index.vectors import IndexPolicy
from bot.index.writer import IndexWriter
from bot.settings import Settings
from tests.conftest import ROOT, run_script

FERRY = (
    "---\ntitle: Ferry timetable changes\npublisher: Harbour Gazette\n---\n"
    "The night ferry to Carrick Point stops running in October, the harbour board said on Monday.\n"
)
SIGNALS = {"SIGINT": (signal.SIGINT, 130, "interrupted"), "SIGTERM": (signal.SIGTERM, 143, "terminated (SIGTERM)")}


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "FETCH_ALLOW_PRIVATE": "true"},  # the test server is on loopback
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition, proc: subprocess.Popen[str], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the process ended before {what}: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.005)


def assert_no_leftovers(index: Path) -> None:
    assert not (index / "build.owner").exists()
    assert not list((index / VERSIONS).glob("*.partial"))
    assert not list(index.glob(".CURRENT.*"))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNALS))
def test_signal_while_a_build_writes_cleans_up_and_says_so(name: str, multi_copy: tuple[Path, Path]):
    """SIGINT or SIGTERM once the new version is being written: message, 130/143, no build.owner or .partial."""
    sig, code, word = SIGNALS[name]
    corpus, index = multi_copy
    before = current_version(index)
    (corpus / "ferry.md").write_text(FERRY, encoding="utf-8")
    build = start("scripts/build_index.py", "--full", "--quiet", "--corpus", str(corpus), "--index", str(index))
    wait_until(lambda: any((index / VERSIONS).glob("*.partial")), build, "the .partial version")
    build.send_signal(sig)
    _, err = build.communicate(timeout=120)
    assert "Traceback" not in err, err
    if build.returncode == 0:  # it had finished writing: the new version is live and complete
        assert current_version(index) != before
    else:
        assert build.returncode == code, err
        assert err.strip().splitlines()[-1] in (
            f"{word}: the previous index is unchanged",
            f"{word} after the new index went live (version {current_version(index)})",
        ), err
    assert_no_leftovers(index)
    EmbeddedReader(index)


@pytest.mark.slow
def test_sigterm_before_the_model_is_loaded_cleans_up(multi_copy: tuple[Path, Path]):
    """SIGTERM as soon as the build holds the lock (the model still loading): exit 143, no build.owner."""
    corpus, index = multi_copy
    (corpus / "ferry.md").write_text(FERRY, encoding="utf-8")
    build = start("scripts/build_index.py", "--quiet", "--corpus", str(corpus), "--index", str(index))
    wait_until(lambda: (index / "build.owner").exists(), build, "build.owner")
    build.send_signal(signal.SIGTERM)
    _, err = build.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert build.returncode in (0, 143), err
    assert_no_leftovers(index)


def test_sigint_anywhere_in_the_writer_constructor_leaves_no_partial(multi_index: Path, tmp_path: Path):
    """A real SIGINT at each call IndexWriter() makes, in turn: KeyboardInterrupt, and no `.partial` left."""
    index = tmp_path / "index"
    shutil.copytree(multi_index, index)
    base = current_version(index)
    policy = IndexPolicy.from_settings(Settings(_env_file=None))

    def construct() -> IndexWriter:
        return IndexWriter(index, 384, base=base, policy=policy, lexical_threshold=10**9)

    calls = 0

    def count(frame, event, arg) -> None:  # type: ignore[no-untyped-def]
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        writer = construct()
    finally:
        sys.setprofile(None)
    writer.abort()
    total = calls
    assert total > 10
    interrupted = 0
    for target in range(1, total + 1):
        seen = 0

        def fire(frame, event, arg, target: int = target) -> None:  # type: ignore[no-untyped-def]
            nonlocal seen
            if event in ("call", "c_call"):
                seen += 1
                if seen == target:
                    sys.setprofile(None)
                    os.kill(os.getpid(), signal.SIGINT)

        writer = None
        try:
            sys.setprofile(fire)
            try:
                writer = construct()
            finally:
                sys.setprofile(None)
            time.sleep(0)  # a signal that came after the last call lands here, not later
        except KeyboardInterrupt:
            interrupted += 1
        if writer is not None:  # finished before the signal landed: the test drops it
            writer.abort()
        assert not list((index / VERSIONS).glob("*.partial")), f"call {target} of {total}"
    assert interrupted >= total // 2
    EmbeddedReader(index)


class TrickleHandler(http.server.BaseHTTPRequestHandler):
    """Sends headers, then one byte now and then: a download that never ends by itself."""

    requested = threading.Event()
    stop = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        type(self).requested.set()
        while not type(self).stop.wait(0.2):
            try:
                self.wfile.write(b"a")
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trickle_url() -> Iterator[str]:
    TrickleHandler.requested.clear()
    TrickleHandler.stop.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TrickleHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slow-article.txt"
    finally:
        TrickleHandler.stop.set()
        server.shutdown()
        server.server_close()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNALS))
def test_signal_while_add_article_downloads(name: str, trickle_url: str, tmp_path: Path):
    """SIGINT or SIGTERM during the download: "nothing was added", 130/143, no traceback, no file."""
    sig, code, word = SIGNALS[name]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    add = start("scripts/add_article.py", trickle_url, "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    wait_until(TrickleHandler.requested.is_set, add, "the request")
    add.send_signal(sig)
    _, err = add.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert add.returncode == code, err
    assert err.strip().splitlines()[-1] == f"{word}: nothing was added to the corpus"
    assert list(corpus.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNALS))
def test_add_interrupted_after_writing_the_file_says_how_to_finish(
    name: str, multi_copy: tuple[Path, Path], tmp_path: Path, embedder: Embedder
):
    """Cut short between writing the corpus file and indexing it: says so, and its command finishes the job."""
    sig, code, word = SIGNALS[name]
    corpus, index = multi_copy
    source = tmp_path / "ferry.md"
    source.write_text(FERRY, encoding="utf-8")
    before = current_version(index)
    add = start(
        "scripts/add_article.py",
        str(source),
        "--name",
        "ferry.md",
        "--quiet",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
    )
    written = corpus / "ferry.md"
    wait_until(written.exists, add, "the corpus file")
    add.send_signal(sig)
    _, err = add.communicate(timeout=120)
    assert "Traceback" not in err, err
    if add.returncode == 0:
        pytest.skip("the add finished before the signal arrived")
    assert add.returncode == code, err
    assert f"{word}: {written} is in the corpus but not in the index" in err, err
    hint = next(line for line in err.splitlines() if line.startswith("hint: "))
    command = hint.split("run: ", 1)[1]
    assert command == f"python scripts/build_index.py --corpus {corpus} --index {index}"
    assert_no_leftovers(index)
    assert current_version(index) == before
    finish = run_script(*command.split()[1:])
    assert finish.returncode == 0, finish.stderr
    assert build_index(corpus, index, embedder).up_to_date
    assert EmbeddedReader(index).manifest.counts["articles"] == 8


def test_sigterm_inside_importlibs_lock_callback_is_delivered_again():
    """There a raised exception would be swallowed: the handler sends SIGTERM again instead."""
    from types import SimpleNamespace

    from bot.cli.common import _raise_terminated

    got: list[int] = []
    old = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    try:
        frame = SimpleNamespace(f_code=SimpleNamespace(co_name="cb", co_filename="<frozen importlib._bootstrap>"))
        _raise_terminated(signal.SIGTERM, frame)  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert got == [signal.SIGTERM]
