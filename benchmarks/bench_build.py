#!/usr/bin/env python3
"""Full build throughput against the model's raw encode throughput on the same texts.

A build embeds two kinds of text: each passage (with its title and section) and each sentence
on its own. So the like-for-like comparison is texts/s: (passages + sentences) embedded by
`build_index` (loading, splitting, attribution, SQLite, FAISS, manifest included) against
`Embedder.encode` on exactly those texts in one call. Passages/s is printed too. Every build
starts from a fresh index folder and so a fresh embedding cache: nothing is reused. Runs
alternate raw, build, raw, build so that load on the shared machine hits both; medians reported.
The ratio is also given in CPU seconds of this process (`x_raw_cpu`), which other jobs on a shared
machine disturb far less than wall time.

Corpora: the seed corpus, and a synthetic one (several hundred passages recombined from the seed
corpus's sentences, with numbers and places varied so that every text is new to the model).

    python benchmarks/bench_build.py                     # torch and onnx, seed + synthetic
    python benchmarks/bench_build.py --backends onnx --synthetic-passages 600
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import ROOT, load_average, median, report

PLACES = ["Idlib", "Hama", "Homs", "Aleppo", "Latakia", "Raqqa", "Deir ez-Zor", "Daraa", "Palmyra", "Tartus"]


def synthetic_corpus(dest: Path, passages: int, seed: int = 7) -> Path:
    """Articles of paragraphs recombined from the seed corpus, about `passages` paragraphs in all."""
    from bot.corpus.files import load_corpus
    from bot.text.sentences import sentence_spans

    rng = random.Random(seed)
    sentences = [
        b.text[s.start : s.end]
        for a in load_corpus(ROOT / "corpus").articles
        for b in a.body_blocks
        for s in sentence_spans(b.text)
    ]
    sentences = [s for s in sentences if len(s.split()) > 5]
    dest.mkdir(parents=True, exist_ok=True)
    per_article = 30
    for n in range(max(1, passages // per_article)):
        paragraphs = []
        for _ in range(per_article):
            picked = rng.sample(sentences, k=min(len(sentences), rng.randint(1, 3)))
            text = " ".join(picked)
            for place in PLACES:
                text = text.replace(place, rng.choice(PLACES))
            paragraphs.append(f"{text} Reported on day {rng.randint(1, 9999)} near {rng.choice(PLACES)}.")
        (dest / f"synthetic-{n:03d}.md").write_text(
            f"---\ntitle: Synthetic report {n}\npublisher: Bench Wire\ndate: 2015-10-{1 + n % 28:02d}\n---\n"
            + f"Synthetic report {n}\n\n"
            + "\n\n".join(paragraphs)
            + "\n",
            encoding="utf-8",
        )
    return dest


def texts_of(corpus: Path) -> tuple[list[str], int]:
    """Every distinct text a build of `corpus` embeds (passages, then sentences) and the passage count."""
    from bot.build.plan import passage_embedding_text, sentence_embedding_text
    from bot.corpus.files import load_corpus
    from bot.text.passages import split_article

    passages, sentences = [], []
    for article in load_corpus(corpus).articles:
        for p in split_article(article):
            passages.append(passage_embedding_text(p, article.meta.title))
            sentences.extend(sentence_embedding_text(s.text) for s in p.sentences)
    # The build embeds each distinct text once (the cache is keyed by text), so the raw side does too.
    return list(dict.fromkeys(passages + sentences)), len(passages)


def _parser():
    """`bot.text.parse` with its model loaded, or None for a tree whose attribution parses nothing."""
    import importlib

    for path, name in (("bot/text/parse.py", "bot.text.parse"), ("bot/parse.py", "bot.parse")):
        if (ROOT / path).is_file():
            parse = importlib.import_module(name)
            break
    else:
        return None
    parse.nlp()
    return parse


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="torch,onnx", help="comma-separated EMBEDDING_BACKEND values")
    p.add_argument("--synthetic-passages", type=int, default=300, help="size of the synthetic corpus")
    p.add_argument("--repeat", type=int, default=3, help="raw/build pairs per corpus (medians reported)")
    args = p.parse_args()

    from bot.build.run import build_index
    from bot.embedding.embedder import Embedder
    from bot.settings import BUNDLED_MODEL

    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    corpora = {"seed": ROOT / "corpus", "synthetic": synthetic_corpus(work / "synthetic", args.synthetic_passages)}
    rows = []
    try:
        for backend in args.backends.split(","):
            embedder = Embedder(BUNDLED_MODEL, backend=backend, cache_dir=work / "model-cache")  # type: ignore[arg-type]
            embedder.encode(["warm up"])  # model load (and ONNX export) is not throughput
            parse = _parser()  # nor is loading the parser attribution reads
            for name, corpus in corpora.items():
                texts, n_passages = texts_of(corpus)
                raw, build, raw_cpu, build_cpu = [], [], [], []
                load = load_average()
                for i in range(args.repeat):
                    t, c = time.perf_counter(), time.process_time()
                    embedder.encode(texts)
                    raw.append(time.perf_counter() - t)
                    raw_cpu.append(time.process_time() - c)
                    index = work / f"index-{backend}-{name}-{i}"  # fresh folder: empty embedding cache
                    if parse is not None:
                        parse.clear_cache()  # and no parse kept from the previous build
                    t, c = time.perf_counter(), time.process_time()
                    result = build_index(corpus, index, embedder)
                    build.append(time.perf_counter() - t)
                    build_cpu.append(time.process_time() - c)
                    assert result.embedded == len(texts), (result.embedded, len(texts))
                    shutil.rmtree(index)
                rows.append(
                    {
                        "backend": backend,
                        "corpus": name,
                        "passages": n_passages,
                        "texts": len(texts),
                        "build_s": median(build),
                        "passages_per_s": n_passages / median(build),
                        "texts_per_s": len(texts) / median(build),
                        "raw_texts_per_s": len(texts) / median(raw),
                        "x_raw": median(raw) / median(build),
                        "raw_cpu_s": median(raw_cpu),
                        "build_cpu_s": median(build_cpu),
                        "x_raw_cpu": median(raw_cpu) / median(build_cpu),
                        "target": ">=0.9",
                        "load": load,
                    }
                )
                print(f"{backend}/{name}: done", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report("build", rows)


if __name__ == "__main__":
    main()
