"""What the Telegram workers' shared state costs an update: each operation's p50/p95, alone and contended.

Usage: .venv/bin/python benchmarks/bench_shared_state.py [--ops 2000] [--seconds 5]

Every update a worker handles makes these calls to `bot/telegram/shared.py` (one SQLite file in
WAL mode, one thread per process): `first_time` (seen before?), `hit` (the flood limit), and per
reply `reserve` (the send budget); an answer with buttons adds `remember`, a press `recall`.
Measured as the handlers pay them, through `await state.call(...)`, against a floor: a call that
does nothing on the same thread (the hop alone). Then the same mix in 1, 2 and 4 processes at once
on one file: operations per second in all and the p95 each process sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import ROOT, pct, report

from bot.telegram.shared import SharedState

ANSWER = "x" * 3000  # about what an answer's buttons keep: the question and three quotes as JSON


def _ops(state: SharedState, i: int) -> list[tuple[str, object, tuple]]:
    """One update's calls: seen?, flood, send slot, remember its answer, recall one (a press)."""
    return [
        ("first_time", state.first_time, (f"{i}:{time.time_ns()}",)),
        ("hit", state.hit, (f"updates:{i % 50}", 10**6, 20, f"notices:{i % 50}")),
        ("reserve", state.reserve, ([("all", 1e9, 1.0)],)),
        ("remember", state.remember, (i % 50, i, ANSWER, 64)),
        ("recall", state.recall, (i % 50, i)),
    ]


async def alone(directory: Path, n: int) -> list[dict]:
    """Each operation n times in one process, through `state.call`; the no-op hop first."""
    state = SharedState(directory, bot_id="1")
    times: dict[str, list[float]] = {"hop (no-op)": []}
    try:
        for _ in range(n):
            t = time.perf_counter()
            await state.call(lambda: None)
            times["hop (no-op)"].append(time.perf_counter() - t)
        for i in range(n):
            for name, fn, args in _ops(state, i):
                t = time.perf_counter()
                await state.call(fn, *args)
                times.setdefault(name, []).append(time.perf_counter() - t)
    finally:
        state.close()
    return [
        {"processes": 1, "op": name, "p50_ms": pct(v, 50) * 1e3, "p95_ms": pct(v, 95) * 1e3}
        for name, v in times.items()
    ]


_WORKER = """
import asyncio, json, sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[3], sys.argv[3] + "/benchmarks"]
from bench_shared_state import _ops
from bot.telegram.shared import SharedState

async def main():
    state = SharedState(Path(sys.argv[1]), bot_id="1")
    print("ready", flush=True)
    sys.stdin.readline()
    deadline, lat, i = time.monotonic() + float(sys.argv[2]), [], 0
    while time.monotonic() < deadline:
        for _, fn, args in _ops(state, i):
            t = time.perf_counter()
            await state.call(fn, *args)
            lat.append(time.perf_counter() - t)
        i += 1
    state.close()
    print(json.dumps(lat))

asyncio.run(main())
"""


def contended(directory: Path, processes: int, seconds: float) -> dict:
    """The update mix in `processes` processes at once for `seconds`: ops/s in all, p95 per op."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(directory), str(seconds), str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    lat = [x for p in procs for x in json.loads(p.communicate(timeout=seconds + 120)[0])]
    return {
        "processes": processes,
        "op": "update mix (5 ops)",
        "p50_ms": pct(lat, 50) * 1e3,
        "p95_ms": pct(lat, 95) * 1e3,
        "ops_per_s": len(lat) / seconds,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=2000, help="calls of each operation in the single-process run")
    p.add_argument("--seconds", type=float, default=5.0, help="length of each contended run")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += asyncio.run(alone(Path(tmp) / "alone", args.ops))
        for n in (1, 2, 4):
            rows.append(contended(Path(tmp) / f"contended-{n}", n, args.seconds))
    report("shared_state", rows)


if __name__ == "__main__":
    main()
