"""Which index version is live, what built it, and which files it must have.

Layout of `index/`::

    CURRENT                 name of the live version (replaced atomically)
    versions/<name>/        manifest.json, store.sqlite, passages.faiss, sentences.faiss
    cache/embeddings.sqlite vectors by (model, text hash), shared by all builds
    build.lock              held while a build runs

A build writes a new version beside the live one and only then points CURRENT at it, so a reader
never sees half an index and a killed build leaves the previous one in place. Versions are
immutable once written, which lets readers open SQLite with `immutable=1` (no locking) and
memory-map the FAISS files. Cheap to import: no FAISS, no SQLite.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import IndexUnavailable
from bot.index.postings import POSTINGS_FORMAT
from bot.index.postings import segment_files as lexical_files

#: 3: the view tables of `bot/index/views.py` (speakers, publishers, example questions).
#: 4: sentences carry their answer slots (`bot/text/slots.py`), parsed at build time.
#: 5: slots version 3 (a counted noun's own participle is its number's verb): an index of
#: schema 4 holds the older verbs, which the decision would misread, so it must be rebuilt.
SCHEMA_VERSION = 5
CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
PASSAGE_VECTORS = "passages.faiss"
SENTENCE_VECTORS = "sentences.faiss"
KEEP_VERSIONS = 2
#: Appended vector segments a version may carry before a build merges them into one file again.
MAX_SEGMENTS = 8
#: Up to this many passages an incremental build merges the FTS5 segments too (~0.15 s here), so
#: that an index grown article by article answers as fast as one built at once.
FTS_OPTIMIZE_MAX_PASSAGES = 20_000


def rebuild_hint(index_dir: Path) -> str:
    """What every refusal of a damaged or outdated index tells the user to run."""
    return f"rebuild it with: python scripts/build_index.py --index {index_dir} --full"


def current_version(index_dir: Path) -> str | None:
    """Name of the live version, or None when no build has finished."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def current_stamp(index_dir: Path | str) -> tuple[int, int, int] | None:
    """Identity of the CURRENT file (inode, mtime, size), or None when there is none.

    A build replaces CURRENT with a new file, so an unchanged stamp means an unchanged version:
    a stat per question instead of opening and reading the file (0.03 ms of a 1 ms answer).
    """
    try:
        st = os.stat(os.path.join(index_dir, CURRENT))
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class Manifest:
    """What built an index: model, dimension, schema and splitter versions, and per-article hashes."""

    schema: int
    splitter: int
    model: str
    dimension: int
    built_at: str
    build_seconds: float
    articles: dict[str, dict[str, Any]]
    counts: dict[str, int]
    #: Runtime that made the vectors ("torch" or "onnx"); older manifests lack it and mean torch.
    backend: str = "torch"
    #: Per FAISS file ("passages", "sentences"): index type, size and HNSW parameters.
    vector_index: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Byte size of each data file as the build wrote it: memory-mapped FAISS files are not
    #: fully read at load, so a truncated one is caught by its size instead of a crash later.
    files: dict[str, int] = field(default_factory=dict)
    #: Per FTS5 kind ("passages", "sentences"): the segments of its postings as arrays
    #: (`bot/index/postings.py`), written above LEXICAL_POSTINGS_THRESHOLD rows; none below.
    lexical: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load a manifest; KeyError, TypeError or ValueError when it is incomplete or not JSON."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def write(self, path: Path) -> None:
        """Save as JSON readable by people as well as by `read`: one line per field and per article.

        Not `json.dumps(indent=2)`: indenting falls back to the pure-Python encoder, 0.4 s for
        10,000 articles on every incremental build; small `dumps` calls use the C one.
        """
        lines = []
        for key, value in sorted(self.__dict__.items()):
            if key == "articles":
                entries = [f"    {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(value.items())]
                body = "{\n" + ",\n".join(entries) + "\n  }" if entries else "{}"
            else:
                body = json.dumps(value, sort_keys=True)
            lines.append(f"  {json.dumps(key)}: {body}")
        path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def live_manifest(index_dir: Path, *, model: str | None = None, splitter: int | None = None) -> tuple[str, Manifest]:
    """The live version's name and manifest, checked against this code's schema and the settings.

    Cheap (no vectors are read), so a build can plan from it. Raises `IndexUnavailable` saying
    why the index cannot be used as it is: none yet, unreadable, or built differently.
    """
    hint = rebuild_hint(index_dir)
    version = current_version(index_dir)
    if version is None:
        raise IndexUnavailable(
            f"no index in {index_dir}/", hint=f"build it with: python scripts/build_index.py --index {index_dir}"
        )
    path = index_dir / VERSIONS / version
    try:
        manifest = Manifest.read(path / MANIFEST)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnavailable(f"index manifest in {path} is missing or unreadable ({exc})", hint=hint) from exc
    if manifest.schema != SCHEMA_VERSION:
        raise IndexUnavailable(f"index schema {manifest.schema} is not this version's ({SCHEMA_VERSION})", hint=hint)
    if splitter is not None and manifest.splitter != splitter:
        raise IndexUnavailable(
            f"index was split with splitter v{manifest.splitter}, this version uses v{splitter}", hint=hint
        )
    if model is not None and manifest.model != model:
        raise IndexUnavailable(f"index was built with model {manifest.model!r}, settings say {model!r}", hint=hint)
    # Postings arrays of another layout (format 1 repeated each row's length in every posting)
    # would be misread: refused, and the next build rewrites them in full.
    formats = {e.get("format", 1) for entries in manifest.lexical.values() for e in entries}
    if formats - {POSTINGS_FORMAT}:
        raise IndexUnavailable(
            f"lexical postings in {path} are in format {min(formats - {POSTINGS_FORMAT})}, "
            f"this version reads format {POSTINGS_FORMAT}",
            hint=hint,
        )
    files = [STORE, *segment_files(manifest, "passages", PASSAGE_VECTORS)]
    files += segment_files(manifest, "sentences", SENTENCE_VECTORS)
    files += [name for entries in manifest.lexical.values() for e in entries for name in lexical_files(e["name"])]
    missing = [name for name in files if not (path / name).is_file()]
    if missing:
        raise IndexUnavailable(f"{path} lacks {', '.join(missing)}", hint=hint)
    return version, manifest


def segment_files(manifest: Manifest, kind: str, default: str) -> list[str]:
    """File names holding a kind's vectors in a version: the base file, then appended segments."""
    return list(manifest.vector_index.get(kind, {}).get("segments") or [default])


def prune_versions(index_dir: Path) -> None:
    """Delete unfinished builds and all but the newest KEEP_VERSIONS finished ones."""
    root = index_dir / VERSIONS
    live = current_version(index_dir)
    for stray in index_dir.glob(f".{CURRENT}.*"):  # a CURRENT replacement cut short by a kill
        stray.unlink(missing_ok=True)
    if not root.is_dir():
        return
    # By when each was written (its manifest is written last), not by name: names made within one
    # second differ only in a pid and a clock remainder, which do not sort by time.
    finished = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
        key=lambda p: (p.stat().st_mtime_ns, p.name),
    )
    keep = {p.name for p in finished[-KEEP_VERSIONS:]} | ({live} if live else set())
    for path in root.iterdir():
        if path.name.endswith(".partial"):
            # Another build may be writing it only if it holds the lock, which the caller does.
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def publish(index_dir: Path, written: Path, final: Path) -> None:
    """Make a written version live: flushed to disk, renamed into `versions/`, CURRENT replaced.

    CURRENT is replaced atomically (a new file renamed over it), so a reader sees the old version
    or the new one, never neither. A failure (a full disk) leaves the previous CURRENT live and the
    version back at `written`, for the caller to remove.
    """
    _fsync_tree(written)
    os.replace(written, final)
    tmp = index_dir / f".{CURRENT}.{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(final.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, index_dir / CURRENT)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk: the previous CURRENT stays, nothing is left over
        if current_version(index_dir) != final.name:
            os.replace(final, written)  # never live: the caller's abort removes it
        raise
    _fsync_dir(index_dir)
    prune_versions(index_dir)


def link_or_copy(source: Path, target: Path) -> None:
    """Share an immutable file with another version (a hard link), or copy it where links fail."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(path)
