#!/usr/bin/env python3
"""Cost of the answer-slot check (`bot/retrieval/slot_check.py`): load time and time per question.

Load: a fresh process imports the module and scores one pair (import + onnxruntime session +
tokenizer). Per question: one `score(question, sentences)` call with 1, 3 and 5 news-length
sentences (~25-35 words), p50 / p95 over `--repeat` calls, after one warm-up call.

    python benchmarks/bench_slot_check.py --repeat 50
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTION = "How many buses will be taken off the route while the bridge is repaired?"
SENTENCES = [
    "The transit authority said on Monday that 38 buses will be taken off the route from next week, "
    "while engineers replace the bridge's worn bearings.",
    "About 14,000 vehicles use the bridge every day, including buses, delivery vans and the trucks "
    "that serve the port, according to the council.",
    '"We know this will be hard for commuters, and we will add trains at peak hours," the mayor told '
    "reporters outside city hall.",
    "Repairs are expected to cost $12 million and to last until the end of March, the council's "
    "transport committee said in a statement.",
    "Residents of the east side have complained for years about the state of the bridge, which was "
    "opened in 1962 and last repaired in 1994.",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    code = (
        "import time; t = time.perf_counter(); from bot.retrieval.slot_check import SlotCheck; "
        "c = SlotCheck(); c.score('How many buses?', ['38 buses were withdrawn.']); "
        "print(time.perf_counter() - t)"
    )
    loads = [
        float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout)
        for _ in range(3)
    ]
    print(f"load (import + session + first score), 3 fresh processes: {', '.join(f'{s:.2f}' for s in loads)} s")
    from bot.retrieval.slot_check import SlotCheck

    check = SlotCheck()
    check.score(QUESTION, SENTENCES)
    for n in (1, 3, 5):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            check.score(QUESTION, SENTENCES[:n])
            times.append((time.perf_counter() - t) * 1000)
        print(f"{n} sentence(s): p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms")
    import os

    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
