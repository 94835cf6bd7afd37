"""A real Milvus-compatible server for the Milvus backend's tests: milvus-lite on a free port.

Started once per session as its own process (`python -m milvus_lite server`) with its data in a
temporary folder, and stopped by its pid: SIGINT (it shuts down cleanly and closes its data),
then SIGKILL if it has not stopped in 20 s. Tests that need the server to go away and come back
call `restart()`. The [milvus] extra is part of `make test`, so a missing pymilvus or milvus-lite
fails here rather than skipping: these tests must run in CI.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

STARTUP_SECONDS = 60


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class MilvusServer:
    """A milvus-lite server process on loopback, with its data folder and log."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def start(self) -> None:
        assert self.process is None, "already running"
        command = [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _listening(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"milvus-lite exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"milvus-lite did not listen on {self.port} within {STARTUP_SECONDS} s")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGINT to the server's pid (a clean shutdown), SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    """One milvus-lite server for the session's Milvus tests."""
    server = MilvusServer(tmp_path_factory.mktemp("milvus") / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


_prefixes = iter(range(1_000_000))


@pytest.fixture
def milvus_prefix(milvus_server: MilvusServer) -> Iterator[str]:
    """A collection prefix of this test's own, dropped afterwards."""
    from bot.index.milvus.store import MilvusStore

    prefix = f"t{os.getpid()}_{next(_prefixes)}"
    yield prefix
    with contextlib.suppress(Exception):
        store = MilvusStore(milvus_server.uri, prefix=prefix)
        store.drop_all()
        store.close()
