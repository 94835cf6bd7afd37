#!/usr/bin/env python3
"""Fit the attribution cue lexicon and the first-name genders from PolNeAR train.

    PYTHONPATH=. .venv/bin/python scripts/learn_cues.py [--split DIR] [--min-count 2] [--min-precision 0.1]

Cues: every annotated cue of `SPLIT/gold.jsonl` is tagged and lemmatised by the pinned spaCy
pipeline; a verb lemma is kept when it is a cue at least `--min-count` times and its forms are
cues in at least `--min-precision` of their occurrences in the split's text (so "say" and
"tweet" stay, "make" and "take" do not). Nouns inside cues ("in a statement") and multi-word
cues without a verb ("according to") are kept by the same two tests. The common nouns heading
annotated sources ("officials", "spokesman", "poll") are kept when seen `--min-count` times. Written to
`bot/data/cues.json` with the counts, so every entry can be traced to the data.

First names: a person written "Mr. Lastname" (or Mrs./Ms.) and "Firstname Lastname" in one
article, or a sentence naming "Firstname Lastname" followed by one opening "He"/"She", gives that
first name's gender; names seen mostly one way (80% of the articles naming them) go to
`bot/data/first_names.json`. Only names are stored, no text.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.corpus.normalise import body_of

DATA = Path(__file__).resolve().parent.parent / "bot" / "data"
LEXICON_VERSION = 2


def learn_cues(split: Path, min_count: int, min_precision: float) -> dict:
    """The cue lexicon of one split, with the counts behind every entry."""
    from bot.text.parse import parse

    gold = [json.loads(line) for line in (split / "gold.jsonl").open(encoding="utf-8")]
    cues = [g["cue"] for g in gold if g.get("cue")]
    texts = [body_of(p.read_text(encoding="utf-8")) for p in sorted((split / "corpus").glob("*.md"))]
    words = Counter(w.lower() for text in texts for w in re.findall(r"[A-Za-z]+(?:['’][a-z]+)?", text))
    verb_forms: dict[str, Counter] = defaultdict(Counter)
    noun_forms: dict[str, Counter] = defaultdict(Counter)
    phrases: Counter = Counter()
    for doc in parse(cues):
        verbs = [t for t in doc if t.pos_ == "VERB" and t.lemma_.isalpha()]
        for t in verbs:
            verb_forms[t.lemma_.lower()][t.text.lower()] += 1
        for t in doc:
            if t.pos_ == "NOUN" and t.lemma_.isalpha():
                noun_forms[t.lemma_.lower()][t.text.lower()] += 1
        if not verbs and len(doc) >= 2:
            phrases[" ".join(t.text.lower() for t in doc)] += 1

    def table(forms: dict[str, Counter]) -> dict[str, dict]:
        kept = {}
        for lemma, seen in forms.items():
            in_cues = sum(seen.values())
            total = sum(max(words[f], seen[f]) for f in seen)
            precision = in_cues / total if total else 0.0
            if in_cues >= min_count and precision >= min_precision:
                kept[lemma] = {"cue": in_cues, "seen": total, "precision": round(precision, 3), "forms": sorted(seen)}
        return dict(sorted(kept.items()))

    phrase_table = {}
    joined = "\n".join(t.lower() for t in texts)
    for phrase, n in phrases.items():
        if n < min_count:
            continue
        total = max(len(re.findall(rf"\b{re.escape(phrase)}\b", joined)), n)
        if n / total >= min_precision:
            phrase_table[phrase] = {"cue": n, "seen": total, "precision": round(n / total, 3)}
    # Sources: the common nouns that head annotated sources ("officials", "spokesman", "poll").
    sources = [g["source"] for g in gold if g.get("source") and not g.get("source_is_pronoun")]
    heads: Counter = Counter()
    for doc in parse(sources):
        root = next((t for t in doc if t.head.i == t.i), None)
        if root is not None and root.pos_ == "NOUN" and root.lemma_.isalpha():
            heads[root.lemma_.lower()] += 1
    source_nouns = {lemma: n for lemma, n in sorted(heads.items()) if n >= min_count}
    return {
        "version": LEXICON_VERSION,
        "fitted_on": f"PolNeAR {split.name} ({len(gold)} attributions)",
        "min_count": min_count,
        "min_precision": min_precision,
        "verbs": table(verb_forms),
        "nouns": table(noun_forms),
        "phrases": dict(sorted(phrase_table.items())),
        "source_nouns": source_nouns,
    }


TITLES = {"mr": "m", "mrs": "f", "ms": "f", "miss": "f"}


_FULL_NAME = re.compile(r"\b([A-Z][a-z]{2,}) (?:[A-Z]\. )?([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")


def learn_first_names(split: Path) -> dict:
    """First name → "m"/"f", from two signals in the split's text.

    - titles: an article writing "Mr. Lastname" (or Mrs./Ms.) and "Firstname Lastname";
    - pronouns: a sentence naming one "Firstname Lastname", and the next one opening "He"/"She".

    A name is kept when 80% of the articles that give it a gender give the same, and it is never written in lower
    case in the split (a capitalised "But Trump" is not a first name).
    """
    votes: dict[str, Counter] = defaultdict(Counter)
    lower: Counter = Counter()
    for path in sorted((split / "corpus").glob("*.md")):
        text = body_of(path.read_text(encoding="utf-8"))
        lower.update(re.findall(r"\b[a-z]+\b", text))
        titled: dict[str, set[str]] = {}
        for title, last in re.findall(r"\b(Mr|Mrs|Ms|Miss)\.? ([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b", text):
            titled.setdefault(last, set()).add(TITLES[title.lower()])
        seen_here: set[tuple[str, str]] = set()
        for first, last in _FULL_NAME.findall(text):
            genders = titled.get(last)
            if genders and len(genders) == 1:
                seen_here.add((first, next(iter(genders))))
        sentences = re.split(r"(?<=[.!?\"”’])\s+", text)
        for here, after in itertools.pairwise(sentences):
            names = _FULL_NAME.findall(here)
            pronoun = re.match(r"[\"“]?(He|She)\b", after)
            if len(names) == 1 and pronoun:
                seen_here.add((names[0][0], "m" if pronoun.group(1) == "He" else "f"))
        for first, gender in seen_here:
            votes[first][gender] += 1
    names = {}
    for first, count in votes.items():
        gender, n = count.most_common(1)[0]
        if n / sum(count.values()) >= 0.8 and lower[first.lower()] == 0:
            names[first] = gender
    return {"version": 2, "fitted_on": f"PolNeAR {split.name}", "names": dict(sorted(names.items()))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", type=Path, default=Path("../shared/polnear/train"))
    p.add_argument("--min-count", type=int, default=2)
    p.add_argument("--min-precision", type=float, default=0.1)
    args = p.parse_args()
    if not (args.split / "gold.jsonl").is_file():
        print(f"error: no gold.jsonl in {args.split}", file=sys.stderr)
        return 1
    DATA.mkdir(exist_ok=True)
    cues = learn_cues(args.split, args.min_count, args.min_precision)
    (DATA / "cues.json").write_text(json.dumps(cues, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    names = learn_first_names(args.split)
    (DATA / "first_names.json").write_text(json.dumps(names, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"{len(cues['verbs'])} cue verbs, {len(cues['nouns'])} cue nouns, {len(cues['phrases'])} phrases; "
        f"{len(names['names'])} first names → {DATA}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
