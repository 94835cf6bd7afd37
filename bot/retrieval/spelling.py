"""Typo matching over a large vocabulary: difflib's choice, without comparing every word in Python.

`difflib.get_close_matches(word, vocabulary, n=1, cutoff)` scores every word of the vocabulary
with pure-Python Ratcliff/Obershelp: fine for the few thousand words of a report, seconds per
unknown word over the several hundred thousand distinct terms of a million news passages. This
narrows the vocabulary with three bounds that can only over-estimate difflib's ratio, so no word
it would choose is dropped, then lets difflib choose among the few words left:

1. length: `2·min(a, b) / (a + b)` (difflib's own `real_quick_ratio`) — a slice of the words
   sorted by length;
2. shared characters: `2·Σ min(count) / (a + b)` (difflib's `quick_ratio`), for all words of the
   slice at once with numpy over a character-classes × words count matrix (only the rows of the
   word's own classes are read);
3. the longest common subsequence, `rapidfuzz.fuzz.ratio` (C++): difflib's matching blocks are
   a common subsequence, so its ratio never exceeds this one.

A slice of at most `_SMALL_SLICE` words (a single report's vocabulary) skips bound 2: rapidfuzz
scores them all sooner than numpy narrows them.

The answer is therefore the one difflib gives on the whole vocabulary (ties included: difflib
keeps the greatest (score, word), whatever the order).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz, process  # imported with the module: a first import from several threads at once races

#: Character classes of the count matrix: a-z, 0-9 and four classes for everything else. Merging
#: characters into one class only raises the shared count, so the bound stays a bound.
_CLASSES = 26 + 10 + 4
#: Counts are stored in a byte; a question word with more of one character than this is matched
#: by difflib alone (no real word is).
_MAX_COUNT = 255
_SLACK = 1e-9
#: Up to this many words of the right lengths (a report's vocabulary has a few thousand in all),
#: rapidfuzz scores them all faster than bound 2 narrows them: 14 µs against 55 µs over 261.
_SMALL_SLICE = 1024


def _classes(codes: np.ndarray) -> np.ndarray:
    """The character class of each code point."""
    letter = (codes >= 97) & (codes <= 122)
    digit = (codes >= 48) & (codes <= 57)
    return np.where(letter, codes - 97, np.where(digit, codes - 48 + 26, 36 + codes % 4)).astype(np.int64)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


class CloseWords:
    """The closest word of a fixed vocabulary to a given word, as difflib would pick it."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        words = sorted({w for w in vocabulary if w}, key=len)
        self.words = words
        self.lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        # starts[n]: index of the first word of length ≥ n.
        longest = int(self.lengths[-1]) if words else 0
        self.starts = np.searchsorted(self.lengths, np.arange(longest + 2))
        owner = np.repeat(np.arange(len(words), dtype=np.int64), self.lengths)
        flat = np.bincount(owner * _CLASSES + _classes(_codes("".join(words))), minlength=len(words) * _CLASSES)
        # One contiguous row per class: a word of the question reads only the rows of its classes.
        self.counts = np.ascontiguousarray(np.minimum(flat, _MAX_COUNT).astype(np.uint8).reshape(-1, _CLASSES).T)

    def __len__(self) -> int:
        return len(self.words)

    def closest(self, word: str, cutoff: float) -> str | None:
        """`difflib.get_close_matches(word, vocabulary, n=1, cutoff=cutoff)`, or None."""
        if not self.words or not word or not 0.0 < cutoff <= 1.0:
            found = difflib.get_close_matches(word, self.words, n=1, cutoff=cutoff)
            return found[0] if found else None
        size = len(word)
        # 2·min(a, b) / (a + b) ≥ cutoff  ⇔  cutoff·a / (2 − cutoff) ≤ b ≤ (2 − cutoff)·a / cutoff
        shortest = max(0, math.ceil(cutoff * size / (2.0 - cutoff) - _SLACK))
        longest = math.floor((2.0 - cutoff) * size / cutoff + _SLACK)
        top = len(self.starts) - 1
        lo, hi = int(self.starts[min(shortest, top)]), int(self.starts[min(longest + 1, top)])
        if lo >= hi:
            return None
        if hi - lo <= _SMALL_SLICE:  # scoring them all in C++ is cheaper than the numpy bound
            return _choose(word, self.words[lo:hi], cutoff)
        mine = np.bincount(_classes(_codes(word)), minlength=_CLASSES)
        if mine.max() > _MAX_COUNT:
            found = difflib.get_close_matches(word, self.words[lo:hi], n=1, cutoff=cutoff)
            return found[0] if found else None
        shared = np.zeros(hi - lo, dtype=np.int16)
        scratch = np.empty(hi - lo, dtype=np.uint8)
        for cls in np.flatnonzero(mine):
            shared += np.minimum(self.counts[cls, lo:hi], np.uint8(mine[cls]), out=scratch)
        keep = np.flatnonzero(2.0 * shared >= cutoff * (size + self.lengths[lo:hi]) - _SLACK)
        if not len(keep):
            return None
        return _choose(word, [self.words[lo + int(i)] for i in keep], cutoff)


def _choose(word: str, candidates: list[str], cutoff: float) -> str | None:
    """The word difflib picks among `candidates`, scoring only those rapidfuzz's bound (3.) keeps."""
    near = process.extract(word, candidates, scorer=fuzz.ratio, score_cutoff=cutoff * 100 - 1e-6, limit=None)
    found = difflib.get_close_matches(word, [w for w, _, _ in near], n=1, cutoff=cutoff)
    return found[0] if found else None
