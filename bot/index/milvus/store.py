"""The collections of the Milvus backend: versions, the alias switch, writes and searches.

Naming: every collection is `<prefix>__<version>__<kind>` (kinds in `schema.KINDS`), and every
kind has an alias `<prefix>__<kind>` naming the live version's collection. A build writes a new
version's collections in full, then switches the aliases, `summary` last: a reader finds the
live version through the `summary` alias once and then reads that version's collections by
name, so it never mixes two versions, and never sees one half written. Older versions are
dropped after the switch, except the previous one, which readers still holding it may finish
with (as the embedded store keeps two versions).

Every call goes through `_call`, which turns an unreachable server, a timeout or a missing
collection into `IndexUnavailable` with one line saying so: the bot answers with that line and
tries again on the next question, which reconnects.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from operator import methodcaller
from typing import TYPE_CHECKING, Any, TypeVar

from bot.errors import IndexUnavailable
from bot.index.milvus.schema import KINDS, DenseIndex, index_params_of, schema_of

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from bot.settings import Settings

log = logging.getLogger(__name__)
# pymilvus logs every failed call with its traceback at ERROR; each one reaches the user (and the
# bot's log) as the one-line IndexUnavailable `_call` raises instead, and a collection reloaded
# after a server restart is no error at all.
logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)

T = TypeVar("T")

#: The kind whose alias says which version is live; switched after every other kind's.
POINTER = "summary"
#: Versions kept after a switch: the live one and the previous one.
KEEP_VERSIONS = 2
#: Rows sent per insert: well under gRPC's message limit with 64 KB texts and 384 floats a row.
INSERT_BATCH = 500
#: Milvus returns at most this many rows per query call (offset + limit).
QUERY_WINDOW = 16_384
HINT = "start Milvus (`make milvus` for a local one) or fix MILVUS_URI / MILVUS_TOKEN"


def _unloaded(exc: Exception) -> bool:
    text = str(exc).lower()
    return "released" in text or "not loaded" in text or "load()" in text


def _missing(exc: Exception) -> bool:
    text = str(exc).lower()
    return "not exist" in text or "not found" in text or "can't find" in text


class MilvusStore:
    """One prefix's collections on one Milvus server; safe to share between threads."""

    def __init__(self, uri: str, *, token: str | None = None, prefix: str = "report_bot", timeout: float = 10.0):
        self.uri = uri
        self.prefix = prefix
        self.timeout = timeout
        self._token = token or ""
        self._client: MilvusClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> MilvusStore:
        """The store the MILVUS_* settings describe."""
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else None
        return cls(
            settings.milvus_uri,
            token=token,
            prefix=settings.milvus_collection_prefix,
            timeout=settings.milvus_timeout_seconds,
        )

    # --- connection ----------------------------------------------------------------------

    @property
    def client(self) -> MilvusClient:
        """The connected client, made on first use and again after a failed call."""
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                try:
                    from pymilvus import MilvusClient
                except ImportError:
                    raise IndexUnavailable(
                        "SEARCH_BACKEND=milvus needs pymilvus", hint="pip install -e '.[milvus]'"
                    ) from None
                try:
                    # dedicated: pymilvus otherwise shares one channel per address between clients, and
                    # a channel that saw the server go away stays broken for the next client too.
                    self._client = MilvusClient(uri=self.uri, token=self._token, timeout=self.timeout, dedicated=True)
                except Exception as exc:
                    raise IndexUnavailable(f"cannot reach Milvus at {self.uri} ({_reason(exc)})", hint=HINT) from None
            return self._client

    def _call(self, what: str, fn: Callable[[MilvusClient], T], collection: str | None = None) -> T:
        """`fn(client)`, with any failure turned into a one-line `IndexUnavailable`.

        A collection a restarted server has not loaded yet (milvus-lite loads none at start) is
        loaded and the call made again.
        """
        client = self.client
        try:
            try:
                return fn(client)
            except Exception as exc:
                if collection is None or not _unloaded(exc):
                    raise
                log.info("milvus: loading %s", collection)
                client.load_collection(collection)
                return fn(client)
        except IndexUnavailable:
            raise
        except Exception as exc:
            if _missing(exc):
                raise IndexUnavailable(
                    f"the Milvus index is incomplete: {what} ({_reason(exc)})",
                    hint="build it with: SEARCH_BACKEND=milvus python scripts/build_index.py --full",
                ) from None
            with self._lock:  # the channel may be dead: the next call connects again
                if self._client is client:
                    self._client = None
            try:
                client.close()
            except Exception:
                log.debug("closing a failed Milvus client", exc_info=True)
            raise IndexUnavailable(f"Milvus at {self.uri} failed: {what} ({_reason(exc)})", hint=HINT) from None

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # --- names and versions --------------------------------------------------------------

    def alias(self, kind: str) -> str:
        """The alias naming the live version's collection of a kind."""
        return f"{self.prefix}__{kind}"

    def collection(self, version: str, kind: str) -> str:
        """The collection of a kind in a version."""
        return f"{self.prefix}__{version}__{kind}"

    def versions(self) -> list[str]:
        """Every version with collections under this prefix, oldest first."""
        names = self._call("listing collections", lambda c: c.list_collections())
        start = f"{self.prefix}__"
        found = {n[len(start) :].split("__")[0] for n in names if n.startswith(start) and n.count("__") >= 2}
        return sorted(found)

    def live_version(self) -> str | None:
        """The version the pointer alias names, or None when nothing was published yet."""
        alias = self.alias(POINTER)
        if alias not in self._aliases():
            return None
        target = self._call("reading the live alias", lambda c: c.describe_alias(alias))["collection_name"]
        return str(target)[len(self.prefix) + 2 :].split("__")[0]

    def live_stamp(self) -> str | None:
        """`<version>.<generation>`: changes with every build, full or in place; None before the first."""
        version = self.live_version()
        if version is None:
            return None
        rows = self.get(version, "summary", ["generation"], ["value"])
        return f"{version}.{rows[0]['value'] if rows else '0'}"

    def _aliases(self) -> set[str]:
        """Every alias on the server (of any prefix)."""
        return _alias_names(self._call("listing aliases", lambda c: c.list_aliases()))

    def create_version(self, dimension: int, dense: DenseIndex) -> str:
        """Make a new, unpublished version's empty collections; returns its name."""
        version = time.strftime("v%Y%m%dt%H%M%S", time.gmtime()) + "_" + secrets.token_hex(3)
        for kind in KINDS.values():
            name = self.collection(version, kind.name)
            self._call(
                f"creating {name}",
                methodcaller(
                    "create_collection",
                    name,
                    schema=schema_of(kind, dimension),
                    index_params=index_params_of(kind, dense),
                    consistency_level="Strong",
                ),
            )
        return version

    def publish(self, version: str) -> None:
        """Point every alias at `version` (the pointer last), then drop versions beyond `KEEP_VERSIONS`."""
        existing = self._aliases()
        for kind in sorted(KINDS, key=lambda k: k == POINTER):
            alias, name = self.alias(kind), self.collection(version, kind)
            if alias in existing:
                self._call(f"switching {alias}", methodcaller("alter_alias", name, alias))
            else:
                self._call(f"creating {alias}", methodcaller("create_alias", name, alias))
        older = [v for v in self.versions() if v != version]
        for old in older[: max(0, len(older) - (KEEP_VERSIONS - 1))]:
            self.drop_version(old)

    def drop_version(self, version: str) -> None:
        """Drop a version's collections (never the live one's aliases: those moved first)."""
        for kind in KINDS:
            name = self.collection(version, kind)
            self._call(f"dropping {name}", methodcaller("drop_collection", name))
        log.info("milvus: dropped version %s", version)

    def drop_all(self) -> None:
        """Every alias and collection of this prefix (tests, `--full` onto a fresh prefix)."""
        existing = self._aliases()
        for alias in (self.alias(kind) for kind in KINDS):
            if alias in existing:
                self._call("dropping an alias", methodcaller("drop_alias", alias))
        for version in self.versions():
            self.drop_version(version)

    # --- writes --------------------------------------------------------------------------

    def insert(self, version: str, kind: str, rows: Sequence[dict[str, Any]]) -> None:
        """Add rows to a version's collection of a kind, in batches."""
        name = self.collection(version, kind)
        for first in range(0, len(rows), INSERT_BATCH):
            batch = list(rows[first : first + INSERT_BATCH])
            self._call(f"inserting into {name}", methodcaller("insert", name, batch))

    def upsert(self, version: str, kind: str, rows: Sequence[dict[str, Any]]) -> None:
        """Add or replace rows by primary key (the small view collections of an incremental build)."""
        name = self.collection(version, kind)
        for first in range(0, len(rows), INSERT_BATCH):
            batch = list(rows[first : first + INSERT_BATCH])
            self._call(f"upserting into {name}", methodcaller("upsert", name, batch))

    def delete(self, version: str, kind: str, expr: str) -> None:
        """Delete the rows of a version's collection that match a filter expression."""
        name = self.collection(version, kind)
        self._call(f"deleting from {name}", lambda c: c.delete(name, filter=expr))

    def flush(self, version: str) -> None:
        """Seal what was written to a version, so a restarted server serves it."""
        for kind in KINDS:
            name = self.collection(version, kind)
            self._call(f"flushing {name}", methodcaller("flush", name))

    # --- reads ---------------------------------------------------------------------------

    def query(
        self, version: str, kind: str, expr: str, fields: Sequence[str], limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows matching a filter (all of them, or the first `limit`), in no particular order."""
        name = self.collection(version, kind)
        window = min(limit, QUERY_WINDOW) if limit is not None else QUERY_WINDOW
        first = self._call(
            f"reading {name}",
            lambda c: list(c.query(name, filter=expr, output_fields=list(fields), limit=window)),
            name,
        )
        if len(first) < window or (limit is not None and limit <= QUERY_WINDOW):
            return first

        def read_all(c: MilvusClient) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            iterator = c.query_iterator(
                name, batch_size=4096, filter=expr, output_fields=list(fields), limit=limit or -1
            )
            try:
                while batch := iterator.next():
                    rows.extend(batch)
            finally:
                iterator.close()
            return rows

        return self._call(f"reading {name}", read_all, name)

    def get(self, version: str, kind: str, ids: Iterable[int | str], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Rows by primary key, in no particular order (missing ones are left out)."""
        keys = list(dict.fromkeys(ids))
        if not keys:
            return []
        name = self.collection(version, kind)
        rows: list[dict[str, Any]] = []
        for first in range(0, len(keys), QUERY_WINDOW):
            part = keys[first : first + QUERY_WINDOW]
            rows += self._call(f"reading {name}", methodcaller("get", name, ids=part, output_fields=list(fields)), name)
        return rows

    def count(self, version: str, kind: str) -> int:
        """How many rows a version's collection of a kind holds."""
        name = self.collection(version, kind)
        rows = self._call(f"counting {name}", lambda c: c.query(name, filter="", output_fields=["count(*)"]), name)
        return int(rows[0]["count(*)"])

    def dense(
        self, version: str, kind: str, vectors: Sequence[Iterable[float]], k: int, dense: DenseIndex | None = None
    ) -> list[list[tuple[int, float]]]:
        """Per query vector: (id, inner product) of the k nearest rows, best first."""
        name = self.collection(version, kind)
        params = (dense or DenseIndex()).search_params()
        found = self._call(
            f"searching {name}",
            lambda c: c.search(
                name,
                data=[list(map(float, v)) for v in vectors],
                anns_field="vector",
                limit=k,
                search_params=params,
                output_fields=[],
            ),
            name,
        )
        return [[(int(h["id"]), float(h["distance"])) for h in hits] for hits in found]

    def bm25(self, version: str, kind: str, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """Per analysed query (`analysis.analysed`): (id, BM25 score) of the k best rows, best first."""
        name = self.collection(version, kind)
        asked = [q for q in queries]
        if not any(asked):
            return [[] for _ in asked]
        found = self._call(
            f"searching {name}",
            lambda c: c.search(
                name,
                data=[q or "_" for q in asked],
                anns_field="sparse",
                limit=k,
                search_params={"metric_type": "BM25"},
                output_fields=[],
            ),
            name,
        )
        # Milvus reports the BM25 score as the distance; milvus-lite 3.2.2 reports it negated.
        return [
            [(int(h["id"]), abs(float(h["distance"]))) for h in hits] if q else []
            for q, hits in zip(asked, found, strict=True)
        ]

    def hybrid(
        self, version: str, kind: str, vector: Sequence[float], query: str, k: int, rrf_k: int = 60
    ) -> list[tuple[int, float]]:
        """(id, RRF score) of the k best rows by dense and BM25 rank together, on the server."""
        from pymilvus import AnnSearchRequest, RRFRanker

        name = self.collection(version, kind)
        requests = [
            AnnSearchRequest(
                data=[list(map(float, vector))], anns_field="vector", param={"metric_type": "IP"}, limit=k
            ),
            AnnSearchRequest(data=[query], anns_field="sparse", param={"metric_type": "BM25"}, limit=k),
        ]
        found = self._call(
            f"searching {name}",
            lambda c: c.hybrid_search(name, requests, ranker=RRFRanker(rrf_k), limit=k, output_fields=[]),
            name,
        )
        return [(int(h["id"]), float(h["distance"])) for h in found[0]]


def _alias_names(listing: Any) -> set[str]:
    """The alias names in what `list_aliases` returned (a dict with `aliases`, or a list)."""
    if isinstance(listing, dict):
        return set(listing.get("aliases") or [])
    return set(listing or [])


def _reason(exc: BaseException) -> str:
    """An exception's message on one line, or its type when it has none."""
    text = " ".join(str(getattr(exc, "message", "") or exc).split())
    return text[:300] or type(exc).__name__
