#!/usr/bin/env python3
"""Cold start: process start to the first answer printed by `scripts/query.py`, and `--help`.

Each figure is the median of fresh processes (page cache warm, as on a machine that has run the
bot before). The floor is a process that only loads the same model and embeds the question,
printing the vector's first value: whatever the engine adds on top (settings, FAISS, SQLite,
search, formatting) is the ratio. The first ONNX run exports the model (once per cache folder);
that one-off is reported on its own line.

    python benchmarks/bench_cold_start.py
    python benchmarks/bench_cold_start.py --backends onnx --repeat 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import ROOT, load_average, median, report

QUESTION = "How many Russian air strikes were counted over Idlib and Hama?"

FLOOR = """
import sys
from bot.embedding.embedder import Embedder
from bot.settings import Settings
e = Embedder.from_settings(Settings(_env_file=None, embedding_backend=sys.argv[1]))
print(e.encode([sys.argv[2]])[0][0], flush=True)
"""


def first_line_seconds(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning `cmd` to its first line on stdout (it then runs to the end)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    _, err = proc.communicate()
    if proc.returncode != 0 or not line.strip():
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()[-500:]}")
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="torch,onnx", help="comma-separated EMBEDDING_BACKEND values")
    p.add_argument("--repeat", type=int, default=3, help="fresh processes per figure (median reported)")
    args = p.parse_args()

    from bot.build.run import build_index
    from bot.embedding.embedder import Embedder
    from bot.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    py = sys.executable
    rows = []
    try:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("EMBEDDING_", "FAISS_"))}
        base_env["HF_HUB_OFFLINE"] = "1"
        base_env["XDG_CACHE_HOME"] = str(work / "xdg-cache")  # so the one-time ONNX export is measured
        helps = [first_line_seconds([py, "scripts/query.py", "--help"], base_env) for _ in range(args.repeat)]
        query: list[str] = []
        python = [first_line_seconds([py, "-c", "print(1)"], base_env) for _ in range(args.repeat)]
        rows.append({"what": "python -c print(1)", "backend": "-", "s": median(python), "load": load_average()})
        rows.append(
            {"what": "query.py --help", "backend": "-", "s": median(helps), "target": "instant", "load": load_average()}
        )
        for backend in args.backends.split(","):
            env = {**base_env, "EMBEDDING_BACKEND": backend}
            # Each backend's default precision names its vectors (onnx: int8), so each gets its index.
            index = work / f"index-{backend}"
            settings = Settings(_env_file=None, embedding_backend=backend)  # type: ignore[arg-type]
            build_index(ROOT / "corpus", index, Embedder.from_settings(settings))
            query = [py, "scripts/query.py", "--index", str(index), QUESTION]
            floor_cmd = [py, "-c", FLOOR, backend, QUESTION]
            if backend == "onnx":
                t = time.perf_counter()
                first_line_seconds(query, env)  # exports the model into $XDG_CACHE_HOME/report-bot/onnx/
                rows.append(
                    {
                        "what": "first answer incl. one-time ONNX export",
                        "backend": backend,
                        "s": time.perf_counter() - t,
                        "load": load_average(),
                    }
                )
            answers, floors = [], []
            load = load_average()
            for _ in range(args.repeat):
                answers.append(first_line_seconds(query, env))
                floors.append(first_line_seconds(floor_cmd, env))
            rows.append(
                {
                    "what": "query.py: start to first answer line",
                    "backend": backend,
                    "s": median(answers),
                    "floor_s": median(floors),
                    "x_floor": median(answers) / median(floors),
                    "target": "<=7 s",
                    "met": median(answers) <= 7,
                    "load": load,
                }
            )
            print(f"{backend}: done", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("cold_start", rows)


if __name__ == "__main__":
    main()
