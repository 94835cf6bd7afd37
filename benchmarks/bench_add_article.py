"""How long a full build takes, and adding one article to a large index (incremental build).

    python benchmarks/bench_add_article.py --passages 10000
    python benchmarks/bench_add_article.py --passages 100000 --prefill-cache

Steps: (1) full build of the seed corpus in a fresh index (wall time of the script, model load
included, and the build alone with the model loaded); (2) a synthetic corpus of about `--passages`
passages (benchmarks/synthetic_corpus.py) is fully built; (3) one new synthetic article is added
with scripts/add_article.py, timed as a user runs it, and again in-process with the model already
loaded, reporting how many texts were embedded. `--prefill-cache` fills the embedding cache of the
big corpus with random unit vectors instead of running the model on it (minutes at 100,000
passages on 2 cores); the added article is always embedded by the real model.
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from measure import load_average  # noqa: E402
from synthetic_corpus import generate  # noqa: E402

from bot.build.plan import passage_embedding_text, sentence_embedding_text  # noqa: E402
from bot.build.run import build_index  # noqa: E402
from bot.corpus.files import load_corpus  # noqa: E402
from bot.embedding.cache import EmbeddingCache, cache_key  # noqa: E402
from bot.embedding.embedder import Embedder  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.text.passages import split_article  # noqa: E402

BACKEND = "onnx"


def run(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    env = {**os.environ, "EMBEDDING_BACKEND": BACKEND}
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{args} failed ({result.returncode}):\n{result.stderr}")
    return seconds, result.stdout


def prefill(corpus: Path, index: Path, model: str, dimension: int, seed: int) -> int:
    """Random unit vectors in the cache for every text of the corpus; how many were stored."""
    rng = np.random.default_rng(seed)
    cache = EmbeddingCache(index, model)
    keys: list[str] = []
    for article in load_corpus(corpus).articles:
        for p in split_article(article):
            keys.append(cache_key(model, passage_embedding_text(p, article.meta.title)))
            keys.extend(cache_key(model, sentence_embedding_text(s.text)) for s in p.sentences)
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), 20000):
        chunk = keys[start : start + 20000]
        vectors = rng.standard_normal((len(chunk), dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        cache.put_many(list(zip(chunk, vectors, strict=True)))
    cache.close()
    return len(keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=10000, help="size of the big index (about)")
    parser.add_argument("--paragraphs", type=int, default=9, help="body paragraphs per synthetic article")
    parser.add_argument("--prefill-cache", action="store_true", help="random vectors for the big corpus")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one, removed after)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", choices=["onnx", "torch"], default="onnx", help="embedding backend (onnx)")
    args = parser.parse_args()
    global BACKEND
    BACKEND = args.backend
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-add-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return bench(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, work: Path) -> int:
    rows: list[tuple[str, str]] = [("backend; load average at start", f"{args.backend}; {load_average()}")]
    # 1. The seed, from nothing, as a user runs it.
    seed_index = work / "seed-index"
    seconds, _ = run("scripts/build_index.py", "--quiet", "--index", str(seed_index))
    rows.append(("seed: full build, fresh index (script wall, model load included)", f"{seconds:.1f} s"))
    # The embedder the CLIs make from the same settings: its model name (with the precision, e.g.
    # "#int8-v3") must match, or add_article.py would rebuild everything instead of one article.
    embedder = Embedder.from_settings(Settings(_env_file=None, embedding_backend=args.backend))
    started = time.perf_counter()
    embedder.encode(["warm up"])
    rows.append(("model load (in-process)", f"{time.perf_counter() - started:.1f} s"))
    shutil.rmtree(seed_index)
    report = build_index(ROOT / "corpus", seed_index, embedder)
    rows.append(
        (
            f"seed: full build, model loaded ({report.passages} passages, {report.embedded} texts embedded)",
            f"{report.seconds:.2f} s",
        )
    )

    # 2. A big synthetic index.
    corpus, index = work / "corpus", work / "index"
    articles = max(1, round(args.passages / (args.paragraphs + 1)))
    generate(corpus, articles, args.paragraphs, args.seed, overwrite=True)
    if args.prefill_cache:
        started = time.perf_counter()
        n = prefill(corpus, index, embedder.model_name, embedder.dimension, args.seed)
        rows.append((f"cache prefilled with {n} random vectors", f"{time.perf_counter() - started:.1f} s"))
    report = build_index(corpus, index, embedder)
    rows.append(
        (
            f"big: full build, {report.articles} articles, {report.passages} passages, {report.sentences} sentences "
            f"({report.embedded} texts embedded)",
            f"{report.seconds:.1f} s",
        )
    )

    # 3. One more article, as a user adds it (new process: Python start and model load included).
    extra = work / "extra"
    [new_article] = generate(extra, 1, args.paragraphs, args.seed + 1000, overwrite=True)
    source = extra / f"new-{new_article.name}"
    new_article.rename(source)
    seconds, out = run("scripts/add_article.py", str(source), "--quiet", "--corpus", str(corpus), "--index", str(index))
    summary = next(line for line in out.splitlines() if line.startswith("indexed "))
    rows.append(("add_article.py one article (script wall, model load included)", f"{seconds:.1f} s"))
    rows.append(("  its summary", summary))

    # ... and the same incremental build in-process with the model loaded: another new article.
    [second] = generate(extra, 1, args.paragraphs, args.seed + 2000, overwrite=True)
    shutil.copy(second, corpus / f"new2-{second.name}")
    report = build_index(corpus, index, embedder)
    rows.append(
        (
            f"incremental build adding one article, model loaded ({report.embedded} texts embedded, "
            f"{report.reused} reused; index of {report.passages} passages)",
            f"{report.seconds:.2f} s (embedding {report.embed_seconds:.2f} s, "
            f"the rest {report.seconds - report.embed_seconds:.2f} s: planning {report.plan_seconds:.2f} s, "
            f"commit {report.commit_seconds:.2f} s)",
        )
    )
    rows.append(("load average at the end", load_average()))
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
