"""An admin's /reload on every worker, not only on the one the proxy handed the command to.

`Engine.reload` re-opens the index of one process. With several workers (`python -m bot --workers
N`) the command reaches one of them, so it also bumps a counter in the shared state
(`SharedState.request_reload`); every worker compares that counter with the last one it acted on
before it handles an update (`gate.current_index`) and re-opens its index first when it is behind.
A poll per update rather than a message to each worker: a worker that was restarting or busy
still catches up before its next answer, and nothing has to know how many workers there are. The
check is one indexed read of the shared SQLite file, on the state's own thread.

A rebuilt index needs none of this: every engine notices a new version by itself (`Engine.reader`).
/reload is for what that check cannot see (files replaced in place, a repaired index).
"""

from __future__ import annotations

import asyncio
import logging

from bot.engine import Engine
from bot.telegram.shared import FAILURES, SharedState

log = logging.getLogger(__name__)


class Reloads:
    """A worker's side of the shared reload counter: the last generation it re-opened the index for."""

    def __init__(self, state: SharedState, engine: Engine) -> None:
        self.state, self.engine = state, engine
        try:  # a worker opens the index afresh anyway: what was asked before it started is done
            self.seen = state.run(state.reload_generation)
        except FAILURES:
            self.seen = 0
        self._lock = asyncio.Lock()  # one re-open at a time per worker, however many updates wait

    async def catch_up(self) -> None:
        """Re-open the index if a /reload on any worker asked for it since this worker last did."""
        wanted = await self.state.attempt(
            "answering from the index as this worker has it open", self.seen, self.state.reload_generation
        )
        if wanted <= self.seen:
            return
        async with self._lock:
            if wanted <= self.seen:  # another update of this worker re-opened it meanwhile
                return
            facts = await asyncio.to_thread(self.engine.reload)
            self.seen = wanted
        log.info("index re-opened for a /reload sent to another worker: version %s", facts.version)

    async def reload_all(self) -> bool:
        """An admin's /reload: re-open the index here now and tell the other workers (False: could not)."""
        async with self._lock:
            generation = await self.state.attempt(
                "re-opening the index on this worker only", None, self.state.request_reload
            )
            await asyncio.to_thread(self.engine.reload)
            if generation is not None:
                self.seen = max(self.seen, generation)
        return generation is not None
