"""The answer/decline question sets (issue 19) stay true to the PolNeAR articles they name.

The sets are hand-written and store no article text, only file stems and short verbatim quotes, so
a typo in a quote or a stem would silently turn an answerable question into an unanswerable one.
These checks need no model: they read `../shared/polnear` beside the checkout, as other tests do.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from bot.corpus.front_matter import split_front_matter
from bot.evaluation.questions import load_questions

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "tests" / "data" / "answerability"
POLNEAR = ROOT.parent / "shared" / "polnear"
SET_FILES = sorted(SETS.glob("*.jsonl"))

ANSWER_KINDS = {"fact", "who_said", "terse", "what_did_x_say"}
SPEAKER_KINDS = {"who_said", "what_did_x_say"}
#: Half of the sorted train stems: train_a.jsonl writes on the first half, train_b.jsonl on the second,
#: so the two writers never tune on the same article.
TRAIN_HALF = 420

pytestmark = pytest.mark.skipif(not POLNEAR.is_dir(), reason="../shared/polnear not beside the checkout")


def _split(path: Path) -> str:
    """The PolNeAR split a set's articles come from: train_*.jsonl from train, dev.jsonl from dev."""
    if path.name.startswith("train_"):
        return "train"
    if path.name == "dev.jsonl":
        return "dev"
    raise AssertionError(f"{path.name}: not a known set name (train_*.jsonl or dev.jsonl)")


@cache
def _stems(split: str) -> tuple[str, ...]:
    """The article stems of a split, in `ls | sort` order (byte order, as the halves were drawn)."""
    return tuple(sorted(p.stem for p in (POLNEAR / split / "corpus").glob("*.md")))


@cache
def _body(split: str, stem: str) -> str:
    """An article's body after its front matter, read the way bot/corpus/articles.py reads it."""
    path = POLNEAR / split / "corpus" / f"{stem}.md"
    return split_front_matter(path.read_text(encoding="utf-8"), path)[1]


def _rows(path: Path) -> list[dict]:
    """Every line of a set as JSON (blank lines are not allowed: each line is one question)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = []
    for n, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{path.name}:{n}: not JSON ({exc.msg})") from exc
    return rows


def test_sets_exist() -> None:
    assert SET_FILES, f"no question sets in {SETS}"


@pytest.mark.parametrize("path", SET_FILES, ids=lambda p: p.name)
def test_rows_have_the_fields_of_their_kind(path: Path) -> None:
    load_questions(path)  # the evaluation's own loader accepts the file
    for n, row in enumerate(_rows(path), 1):
        where = f"{path.name}:{n}"
        assert isinstance(row, dict), where
        assert isinstance(row.get("id"), str) and row["id"], f"{where}: id"
        assert isinstance(row.get("article"), str) and row["article"], f"{where}: article"
        assert isinstance(row.get("q"), str) and row["q"].strip(), f"{where}: q"
        if row.get("negative"):
            assert row["negative"] is True, where
            assert row.get("kind") == "near_miss", f"{where}: a negative is a near_miss"
            assert isinstance(row.get("why"), str) and row["why"].strip(), f"{where}: why"
            assert "expect" not in row and "speaker" not in row, f"{where}: a negative has no gold"
            continue
        assert row.get("kind") in ANSWER_KINDS, f"{where}: kind {row.get('kind')!r}"
        expect = row.get("expect")
        assert isinstance(expect, list) and expect, f"{where}: expect"
        for e in expect:
            assert isinstance(e, str) and 3 <= len(e.split()) <= 12, f"{where}: expect {e!r} is not 3-12 words"
        if row["kind"] in SPEAKER_KINDS:
            speaker = row.get("speaker")
            assert isinstance(speaker, list) and speaker, f"{where}: {row['kind']} needs speaker"
            assert all(isinstance(s, str) and s.strip() for s in speaker), where


def test_ids_are_unique_across_sets() -> None:
    seen: dict[str, str] = {}
    for path in SET_FILES:
        for row in _rows(path):
            assert row["id"] not in seen, f"{row['id']} in {seen.get(row['id'])} and {path.name}"
            seen[row["id"]] = path.name


@pytest.mark.parametrize("path", SET_FILES, ids=lambda p: p.name)
def test_articles_exist_and_gold_is_verbatim(path: Path) -> None:
    split = _split(path)
    stems = set(_stems(split))
    for row in _rows(path):
        assert row["article"] in stems, f"{row['id']}: no {split} article {row['article']!r}"
        body = _body(split, row["article"])
        for e in row.get("expect", []):
            assert e in body, f"{row['id']}: {e!r} is not in the body of {row['article']}"
        for s in row.get("speaker", []):
            assert s.casefold() in body.casefold(), f"{row['id']}: speaker {s!r} not named in the article"


@pytest.mark.parametrize(("name", "half"), [("train_a.jsonl", 0), ("train_b.jsonl", 1)])
def test_train_sets_keep_to_their_half(name: str, half: int) -> None:
    path = SETS / name
    if not path.exists():
        pytest.skip(f"{name} not written yet")
    stems = _stems("train")
    allowed = set(stems[:TRAIN_HALF]) if half == 0 else set(stems[TRAIN_HALF:])
    outside = sorted({row["article"] for row in _rows(path)} - allowed)
    assert not outside, f"{name} uses articles of the other half: {outside}"


def test_no_article_in_two_sets() -> None:
    owner: dict[str, str] = {}
    for path in SET_FILES:
        for article in {row["article"] for row in _rows(path)}:
            assert article not in owner, f"{article} in {owner.get(article)} and {path.name}"
            owner[article] = path.name


def test_training_sets_are_big_enough_to_learn_from() -> None:
    """Issue 19's floor for the training set: train_a and train_b together."""
    if not (SETS / "train_b.jsonl").exists():
        pytest.skip("train_b.jsonl not written yet")
    rows = [row for name in ("train_a.jsonl", "train_b.jsonl") for row in _rows(SETS / name)]
    kinds = Counter(row["kind"] for row in rows)
    assert len(rows) >= 400, len(rows)
    assert len({row["article"] for row in rows}) >= 40
    assert kinds["near_miss"] >= 150, kinds
    assert kinds["who_said"] >= 50, kinds
    assert kinds["terse"] >= 50, kinds
    assert kinds["what_did_x_say"] >= 50, kinds
