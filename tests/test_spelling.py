"""Typo matching (`bot/retrieval/spelling.py`) picks exactly what difflib picks over the whole vocabulary."""

from __future__ import annotations

import difflib
import random

import pytest

from bot.engine import Engine
from bot.retrieval.lexical import FUZZY_CUTOFF, lexicon
from bot.retrieval.spelling import _SMALL_SLICE, CloseWords
from tests.conftest import benchmark_module

misspell = benchmark_module("synthetic_corpus").misspell


def difflib_choice(word: str, vocabulary: list[str], cutoff: float) -> str | None:
    found = difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff)
    return found[0] if found else None


@pytest.fixture(scope="module")
def seed_vocabulary(engine: Engine) -> list[str]:
    return lexicon(engine.reader).vocabulary


def test_typos_of_the_seed_index_words_find_difflibs_word(seed_vocabulary: list[str]):
    rng = random.Random(3)
    close = CloseWords(seed_vocabulary)
    long_words = [w for w in seed_vocabulary if len(w) >= 5]
    words = [misspell(rng.choice(long_words), rng) for _ in range(120)]
    words += ["hezbolah", "rusian", "countd", "nobel", "zzzzzzzz", "strikes", "idlib", "x"]
    found = 0
    for cutoff in (FUZZY_CUTOFF, 0.6, 0.95):
        for word in words:
            want = difflib_choice(word, seed_vocabulary, cutoff)
            assert close.closest(word, cutoff) == want, (word, cutoff)
            found += want is not None
    assert found > 100  # most typos do have a close word: the comparison is not all "None"


def test_ties_go_to_difflibs_word_and_odd_words_are_handled():
    vocabulary = ["abcdx", "abcdy", "kaffee", "café", "москва", "20mm", "e" * 300]
    close = CloseWords(vocabulary)
    for word in ["abcdz", "cafe", "caffe", "москве", "Москва", "20m", "e" * 299, "e" * 400, "", "q"]:
        assert close.closest(word, 0.8) == difflib_choice(word, vocabulary, 0.8), word
    assert close.closest("abcdz", 0.8) == "abcdy"  # equal ratios: difflib keeps the greatest word
    assert CloseWords([]).closest("anything", 0.8) is None


def test_a_large_vocabulary_narrowed_by_character_counts_gives_difflibs_word(seed_vocabulary: list[str]):
    """Above `_SMALL_SLICE` words of the right lengths, the numpy bound narrows them first."""
    rng = random.Random(11)
    syllables = ["al", "bar", "cor", "dal", "es", "fen", "gar", "hal", "ir", "kas", "lor", "mar", "ne", "os", "tu"]
    made = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(6000)}
    vocabulary = sorted(made | set(seed_vocabulary))
    close = CloseWords(vocabulary)
    long_words = sorted(w for w in made if len(w) >= 6)
    words = [misspell(rng.choice(long_words), rng) for _ in range(60)] + ["hezbolah", "rusian", "zzzzzzzz"]
    for word in words:
        lo, hi = (int(close.starts[min(n, len(close.starts) - 1)]) for n in (len(word) * 2 // 3, len(word) * 3 // 2))
        assert hi - lo > _SMALL_SLICE, word  # the numpy path runs
        for cutoff in (FUZZY_CUTOFF, 0.6):
            assert close.closest(word, cutoff) == difflib_choice(word, vocabulary, cutoff), (word, cutoff)


def test_a_word_with_more_repeats_than_a_count_byte_holds_is_left_to_difflib():
    """Over `_SMALL_SLICE` words of its lengths, a word with > 255 of one letter skips the counts."""
    rng = random.Random(5)
    vocabulary = ["".join(rng.choice("0123456789") for _ in range(rng.randint(250, 350))) for _ in range(1100)]
    vocabulary += ["e" * 300, "e" * 280 + "f" * 20]
    close = CloseWords(vocabulary)
    for word in ["e" * 299, "e" * 281 + "f" * 19, "e" * 260]:
        assert close.closest(word, FUZZY_CUTOFF) == difflib_choice(word, vocabulary, FUZZY_CUTOFF), word[-30:]
    assert close.closest("e" * 299, FUZZY_CUTOFF) == "e" * 300
