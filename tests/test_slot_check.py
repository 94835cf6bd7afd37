"""The shipped answer-slot check (bot/retrieval/slot_check.py): it loads without torch, tells a sentence that
fills the asked slot from one that only shares its words, matches its metadata, and takes any input.

The examples are written here, not taken from the question sets it was trained on.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.retrieval.slot_check import META_FILE, MODEL_FILE, MODELS_DIR, TOKENIZER_FILE, SlotCheck, default_slot_check

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def check() -> SlotCheck:
    return default_slot_check()


@pytest.mark.parametrize(
    ("question", "gold", "near_miss"),
    [
        (
            "How many buses will be taken off the route?",
            "The transit authority said 38 buses will be taken off the route from next week.",
            "About 14,000 vehicles use the route every day, the transit authority said, including buses.",
        ),
        (
            "When will the repairs to the bridge begin?",
            "Repairs to the bridge will begin on March 3, the council said.",
            "The council said on Monday that the bridge needs repairs.",
        ),
        (
            "What did the mayor say about the stadium?",
            '"The stadium will be paid for by private money, not by taxpayers," the mayor said.',
            "The mayor attended the opening of the stadium on Saturday with his family.",
        ),
    ],
)
def test_the_sentence_that_answers_scores_higher_than_a_near_miss(
    check: SlotCheck, question: str, gold: str, near_miss: str
) -> None:
    good, bad = check.score(question, [gold, near_miss])
    assert 0.0 <= bad < good <= 1.0


def test_metadata_describes_the_shipped_weights(check: SlotCheck) -> None:
    assert check.weights_match()
    meta = json.loads((MODELS_DIR / META_FILE).read_text(encoding="utf-8"))
    assert meta["onnx_sha256"] == hashlib.sha256((MODELS_DIR / MODEL_FILE).read_bytes()).hexdigest()
    assert meta["onnx_bytes"] == (MODELS_DIR / MODEL_FILE).stat().st_size
    assert (MODELS_DIR / MODEL_FILE).stat().st_size <= 25 * 2**20
    # Trained on the train sets only; the hash records which version of them (they may grow later).
    assert meta["training_sets"] and all(name.startswith("train_") for name in meta["training_sets"])
    assert len(meta["training_data_sha256"]) == 64


def test_empty_and_long_input(check: SlotCheck) -> None:
    assert check.score("How many buses?", []) == []
    assert check.score("", ["38 buses were withdrawn."]) == [0.0]
    assert check.score("How many buses?", ["", "   "]) == [0.0, 0.0]
    long_sentence = "The council met again. " * 400
    long_question = "How many buses " * 200 + "?"
    scores = check.score(long_question, [long_sentence, "38 buses were withdrawn.", ""])
    assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores) and scores[2] == 0.0
    # Many sentences at once come back in order, batched or not.
    many = ["38 buses were withdrawn.", "The council met."] * 40
    assert check.score("How many buses?", many) == pytest.approx(
        check.score("How many buses?", many[:2]) * 40, abs=1e-5
    )


def test_scoring_does_not_load_torch() -> None:
    code = (
        "import sys; from bot.retrieval.slot_check import SlotCheck; "
        "print(SlotCheck().score('How many buses?', ['38 buses were withdrawn.'])); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_model_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    for name in (MODEL_FILE, TOKENIZER_FILE, META_FILE):
        assert (MODELS_DIR / name).is_file()
        assert any(fnmatch.fnmatch(f"models/{name}", p) for p in patterns), name
