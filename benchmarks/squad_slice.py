"""Convert a SQuAD-format file into a corpus folder and a question set for `scripts/evaluate.py`.

Source used for `tests/data/squad/` (committed, ~100 KB): the SQuAD 2.0 dev excerpt that
deepset-ai/haystack vendored as `test/samples/squad/small.json` (blob 42e827e2e7cd, articles
"Normans" and "Computational_complexity_theory": Wikipedia paragraphs with crowd-written
questions, CC BY-SA 4.0, Rajpurkar et al. 2018). Questions SQuAD marks unanswerable
(`is_impossible`) become negatives: they are near misses written against the same paragraphs.

    python benchmarks/squad_slice.py small.json tests/data/squad [--max-articles N] [--max-questions N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

LICENCE = """\
Wikipedia paragraphs and crowd-written questions from SQuAD 2.0 (Rajpurkar, Jia and Liang, 2018),
https://rajpurkar.github.io/SQuAD-explorer/, licensed CC BY-SA 4.0. Converted by
benchmarks/squad_slice.py; the texts are unchanged, split into one file per article.
"""


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def convert(data: dict, out: Path, max_articles: int, max_questions: int) -> tuple[int, int]:
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    questions = []
    articles = data["data"][:max_articles]
    per_article = max(1, max_questions // max(1, len(articles)))
    for article in articles:
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        front = f"---\ntitle: {json.dumps(title)}\npublisher: Wikipedia\nurl:\nbyline: Wikipedia contributors\n---\n"
        (corpus / f"{slug(title)}.md").write_text(front + title + "\n\n" + "\n\n".join(paragraphs) + "\n", "utf-8")
        taken = 0
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                if taken >= per_article:
                    break
                item = {"id": qa["id"], "q": qa["question"].strip(), "article": slug(title)}
                if qa.get("is_impossible"):
                    item["negative"] = True
                    del item["article"]
                else:
                    item["expect"] = sorted({a["text"] for a in qa["answers"]})
                questions.append(item)
                taken += 1
    with (out / "questions.jsonl").open("w", encoding="utf-8") as fh:
        for item in questions:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    (out / "LICENCE.txt").write_text(LICENCE, "utf-8")
    return len(articles), len(questions)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", type=Path, help="a SQuAD-format JSON file")
    p.add_argument("out", type=Path, help="folder for corpus/, questions.jsonl and LICENCE.txt")
    p.add_argument("--max-articles", type=int, default=40)
    p.add_argument("--max-questions", type=int, default=400)
    args = p.parse_args()
    data = json.loads(args.source.read_text(encoding="utf-8"))
    n_articles, n_questions = convert(data, args.out, args.max_articles, args.max_questions)
    print(f"{n_articles} articles, {n_questions} questions in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
