#!/usr/bin/env python3
"""Build throughput of this tree against an earlier commit, same machine, same run.

Issue 17 asks for the embedding stage at >= 2.2x and the whole build at >= 1.7x the texts/s of
the code before it (2c4f773), each with its default settings. Times on a shared machine drift
with its load, so the two trees run alternately, in fresh processes, on the same corpus, and the
medians are compared:

- embed: `Embedder.from_settings(Settings())` encoding every distinct text the build embeds (each
  passage with its title, each sentence), model loaded before timing;
- build: `build_index` of the corpus into a fresh folder (fresh embedding cache), model loaded
  before timing: reading, splitting, attribution, embedding, SQLite and FAISS.

The base tree is checked out with `git worktree` into a temporary folder and run with the same
virtualenv. The corpus defaults to PolNeAR dev articles (real news of real lengths).

    python benchmarks/bench_versus.py [--base 2c4f773] [--articles 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import ROOT, load_average, median, report

POLNEAR_DEV = ROOT.parent / "shared" / "polnear" / "dev" / "corpus"

#: Run inside each tree (its own `bot` package first on sys.path): prints one JSON line.
PROBE = r"""
import json, shutil, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/benchmarks")
from bench_build import texts_of
# Chosen by the tree's files, not by trying imports: the shared virtualenv's editable install of
# the main tree would serve a module the tree lacks (bot.embedding in 2c4f773) from there.
if Path(sys.argv[1], "bot", "build", "run.py").is_file():  # the pipeline layout
    from bot.build.run import build_index
    from bot.embedding.embedder import Embedder
else:
    from bot.build import build_index
    from bot.embedder import Embedder
from bot.settings import Settings

corpus, work, stage = Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
settings = Settings(_env_file=None)
embedder = Embedder.from_settings(settings)
embedder.encode(["warm up"])
texts, _ = texts_of(corpus)  # every distinct text the build embeds, as bench_build.py counts them
started = time.perf_counter()
if stage == "embed":
    embedder.encode(texts)
else:
    shutil.rmtree(work, ignore_errors=True)
    build_index(corpus, work, embedder)
seconds = time.perf_counter() - started
print(json.dumps({"texts": len(texts), "seconds": seconds, "model": embedder.model_name}))
"""


def run(tree: Path, corpus: Path, work: Path, stage: str, cache: Path) -> dict:
    """One measurement in a fresh process of `tree`'s code."""
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tree), str(corpus), str(work), stage],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="2c4f773", help="the commit to compare against")
    p.add_argument("--articles", type=int, default=20, help="PolNeAR dev articles in the corpus")
    p.add_argument("--repeat", type=int, default=3, help="alternating runs per tree and stage")
    p.add_argument("--stages", nargs="+", choices=("embed", "build"), default=["embed", "build"], help="what to time")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-versus-"))
    base = work / "base"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.base], cwd=ROOT, check=True)
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        for path in sorted(POLNEAR_DEV.glob("*.md"))[: args.articles]:
            shutil.copy(path, corpus / path.name)
        trees = {"base": base, "this": ROOT}
        seconds: dict[tuple[str, str], list[float]] = {}
        texts: dict[str, int] = {}
        models: dict[str, str] = {}
        load = load_average()
        for stage in args.stages:
            for i in range(args.repeat + 1):  # the first round warms the page cache and the exports
                for name, tree in trees.items():
                    m = run(tree, corpus, work / f"index-{name}", stage, work / f"cache-{name}")
                    texts[name], models[name] = m["texts"], m["model"]
                    if i:
                        seconds.setdefault((name, stage), []).append(m["seconds"])
                print(f"{stage} round {i}: done", file=sys.stderr, flush=True)
        rows = []
        end_load = load_average()
        for stage in args.stages:
            rate = {name: texts[name] / median(seconds[(name, stage)]) for name in trees}
            rows.append(
                {
                    "stage": stage,
                    "texts": texts["this"],
                    "base_texts_per_s": rate["base"],
                    "this_texts_per_s": rate["this"],
                    "x": rate["this"] / rate["base"],
                    "target": ">=2.2" if stage == "embed" else ">=1.7",
                    "base_model": models["base"],
                    "this_model": models["this"],
                    "load": load,
                    "load_end": end_load,
                    # Every timed run, in order (the trees alternate): the spread shows the noise.
                    "base_runs_s": [round(x, 3) for x in seconds[("base", stage)]],
                    "this_runs_s": [round(x, 3) for x in seconds[("this", stage)]],
                }
            )
        report(
            "versus", rows, {"base": args.base, "articles": args.articles, "repeat": args.repeat, "stages": args.stages}
        )
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
