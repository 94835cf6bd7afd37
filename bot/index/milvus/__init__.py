"""Milvus as the search backend (SEARCH_BACKEND=milvus, docs/scale.md): the same index, on a server.

`store.MilvusStore` owns the collections (one set per build version, published by switching
aliases) and the search primitives; `analysis` turns text into the index's own tokens.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.index.milvus.store import MilvusStore
    from bot.settings import Settings

#: How long a looked-up live version is taken as current: engines check Milvus at most this often
#: (a round trip per question otherwise), so a rebuilt index is picked up within a second.
STAMP_SECONDS = 1.0

_stores: dict[tuple[str, str, str], MilvusStore] = {}
_stamps: dict[tuple[str, str, str], tuple[float, str | None]] = {}
_lock = threading.Lock()


def store_for(settings: Settings) -> MilvusStore:
    """The process's store (one connection) for the MILVUS_* settings."""
    from bot.index.milvus.store import MilvusStore

    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    key = (settings.milvus_uri, token, settings.milvus_collection_prefix)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = MilvusStore.from_settings(settings)
        return store


def live_stamp(settings: Settings) -> str | None:
    """The live version and generation on Milvus (`MilvusReader.version`), looked up at most once a second.

    None when the server has no index or cannot be reached: the engine then opens a reader,
    which says why.
    """
    from bot.errors import IndexUnavailable

    store = store_for(settings)
    key = (store.uri, store._token, store.prefix)
    now = time.monotonic()
    cached = _stamps.get(key)
    if cached is not None and now - cached[0] < STAMP_SECONDS:
        return cached[1]
    try:
        stamp = store.live_stamp()
    except IndexUnavailable:
        stamp = None
    _stamps[key] = (now, stamp)
    return stamp
