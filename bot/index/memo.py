"""What a reader computes once per index version: the readers' `memo`, for every backend.

Kept on the reader rather than in a module-level cache, so an old version's values (and the
memory maps they hold) are freed with its reader after a reload.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class Memo:
    """Values by key, each made once; safe to share between threads."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}
        # Re-entrant: a value may be made from another (close words from the vocabulary).
        self._lock = threading.RLock()

    def get(self, key: str, make: Callable[[], T]) -> T:
        """The value under `key`, made by `make()` the first time it is asked for."""
        try:
            value = self._values[key]
        except KeyError:
            with self._lock:
                if key not in self._values:
                    self._values[key] = make()
                value = self._values[key]
        # One key is always made by the same `make`, so its value has that `make`'s type.
        return cast(T, value)


def remembered(memo: dict[K, V], key: K, compute: Callable[[K], V], limit: int) -> V:
    """`compute(key)`, kept in `memo`, a dict a reader keeps for its version (`Memo.get`).

    For values fixed for the version but asked for one key at a time (a typo's close word, a
    passage's article): at `limit` keys the dict starts afresh rather than grow with every word
    users type. A lost race between threads computes one value twice: the same value.
    """
    try:
        return memo[key]
    except KeyError:
        value = compute(key)
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value
    return value
