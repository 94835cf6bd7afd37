#!/usr/bin/env python3
"""Cold start of the Telegram bot: `python -m bot` process start to its first reply on the emulator.

A user's question is already waiting in the Bot API emulator (npm telegram-test-api behind
tests/telegram/emulator/launcher.js) when the bot process starts, as after a restart; the time is
from spawning the process to the reply appearing in the chat. Floor: `scripts/query.py` answering
the same question (process start to first answer line), which loads the same engine and model.
Runs alternate bot, floor; medians reported. Needs `make install` (node modules of the emulator).

    python benchmarks/bench_bot_cold_start.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import ROOT, load_average, median, report

sys.path.insert(0, str(ROOT / "tests" / "telegram"))
from conftest import free_port, start_emulator, stop_emulator

QUESTION = "Who launched the airstrikes?"


def bot_run(api: str, index: Path, user_id: int) -> float:
    """Seconds from spawning `python -m bot` to its first message in the waiting chat."""
    token = f"{user_id}:BENCH-{uuid.uuid4().hex}"
    user = {"id": user_id, "is_bot": False, "first_name": "Bench"}
    message = {"botToken": token, "date": int(time.time()), "from": user, "chat": {**user, "type": "private"}}
    with httpx.Client(timeout=30) as http:
        http.post(f"{api}/sendMessage", json={**message, "text": QUESTION}).raise_for_status()
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_BASE_URL": f"{api}/bot",
            "INDEX_DIR": str(index),
            "HF_HUB_OFFLINE": "1",
        }
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            while True:
                got = http.post(f"{api}/getUpdates", json={"token": token, "chatId": user_id}).json()["result"]
                if got:
                    return time.perf_counter() - started
                if proc.poll() is not None:
                    sys.exit(f"the bot exited ({proc.returncode}) before replying")
                if time.perf_counter() - started > 120:
                    sys.exit("no reply within 120 s")
                time.sleep(0.02)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def cli_run(index: Path) -> float:
    """Seconds from spawning scripts/query.py to its first output line (the floor)."""
    env = {**os.environ, "INDEX_DIR": str(index), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "scripts/query.py", "--index", str(index), QUESTION],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    proc.stdout.readline()
    seconds = time.perf_counter() - started
    proc.communicate()
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-bot-cold-") as tmp:
        index = Path(tmp) / "index"
        subprocess.run(
            [sys.executable, "scripts/build_index.py", "--quiet", "--index", str(index)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        port = free_port()
        emulator = start_emulator(port)
        try:
            api = f"http://127.0.0.1:{port}"
            bot, floor = [], []
            for i in range(args.runs):
                bot.append(bot_run(api, index, 5000 + i))
                floor.append(cli_run(index))
        finally:
            stop_emulator(emulator)
    rows = [
        {
            "row": "bot: process start to first reply",
            "seconds": median(bot),
            "runs": " ".join(f"{s:.2f}" for s in bot),
            "floor_cli_s": median(floor),
            "x_floor": median(bot) / median(floor),
            "target": "<=7 s",
            "load": load,
        }
    ]
    report("bot_cold_start", rows)


if __name__ == "__main__":
    main()
