"""Running a question's lookup beside its encode: a few threads and the lightest hand-over.

The engine (`bot/engine.py`) hands the lexical lookup and the question's reading to one of these
threads, then encodes the question on its own: the encode releases the GIL, so the two overlap.
"""

from __future__ import annotations

import _thread
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """The result of a call handed to `Beside`, when it is done."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        #: Held until the call has ended: released once by the thread that ran it.
        self._done = _thread.allocate_lock()
        self._done.acquire()
        self._value: T | None = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        """Whether the call has ended."""
        return not self._done.locked()

    def result(self) -> T:
        """The call's value once it has ended (its exception raised here)."""
        with self._done:
            pass
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class Beside:
    """A few threads that run a call beside the caller's encode, handed over as lightly as can be.

    Why not `ThreadPoolExecutor.submit`: a Future (a Condition over an RLock), a work item and a
    semaphore on every question, made before the encode on the query's critical path (11-19 µs
    with `result()`, the quarter of what the engine does before the encode); here a lock and a
    queue put. The threads start on first use, daemons like an idle pool's: a call in flight at
    exit is a question nobody waits for.
    """

    def __init__(self, threads: int, name: str) -> None:
        self._threads = threads
        self._name = name
        self._afresh()
        # A forked child has none of the parent's threads: it starts its own on first use.
        os.register_at_fork(after_in_child=self._afresh)

    def _afresh(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Pending[Any], Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
        self._started = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args: Any) -> Pending[T]:
        """Run `fn(*args)` on one of the threads; its result comes from the returned `Pending`."""
        if self._started < self._threads:
            self._start()
        pending: Pending[T] = Pending()
        self._queue.put((pending, fn, args))
        return pending

    def _start(self) -> None:
        with self._lock:
            while self._started < self._threads:
                self._started += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._started}", daemon=True).start()

    def _work(self) -> None:
        while True:
            pending, fn, args = self._queue.get()
            try:
                pending._value = fn(*args)
            except BaseException as exc:  # handed to the caller, which raises it
                pending._error = exc
            pending._done.release()
            del pending, fn, args  # nothing of a question kept alive while idle


class Slots:
    """At most `n` holders at once (`with slots:`), as a `threading.BoundedSemaphore` admits.

    Why not the semaphore: its acquire and release are Python over a Condition (~3 µs the pair,
    before and after every question's encode, on the critical path); here a queue of `n` tokens
    taken and given back in C (~0.8 µs). A waiting holder blocks in `get` with the GIL released.
    """

    __slots__ = ("_tokens",)

    def __init__(self, n: int) -> None:
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(n):
            self._tokens.put(None)

    def __enter__(self) -> None:
        self._tokens.get()

    def __exit__(self, *exc: object) -> None:
        self._tokens.put(None)
