"""50 simulated chats asking 20 questions each at once through the Bot API emulator: replies/s and p95.

Usage: .venv/bin/python benchmarks/bench_bot_load.py [--chats 50] [--questions 20]
Needs `make install` (the emulator's node modules). Builds a throwaway index of corpus/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "telegram")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from conftest import free_port, start_emulator, stop_emulator  # noqa: E402
from load import run_load  # noqa: E402

from bot.build.run import build_index  # noqa: E402
from bot.embedding.embedder import Embedder  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.settings import BUNDLED_MODEL, Settings  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chats", type=int, default=50, help="simultaneous chats")
    p.add_argument("--questions", type=int, default=20, help="questions each chat sends at once")
    args = p.parse_args()
    embedder = Embedder(BUNDLED_MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        build_index(ROOT / "corpus", index, embedder)
        engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)
        engine.answer("warm up")
        port = free_port()
        proc = start_emulator(port)
        try:
            result = asyncio.run(run_load(f"http://127.0.0.1:{port}", engine, args.chats, args.questions))
        finally:
            stop_emulator(proc)
    print(result.summary())
    for error in result.errors[:5]:
        print("error:", error)
    for warning in result.warnings[:5]:
        print("warning:", warning)


if __name__ == "__main__":
    main()
