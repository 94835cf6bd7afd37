"""The answer-slot check: whether a sentence fills the slot the question asks about.

Why: the near misses that defeat similarity and key-term coverage hold every question word and
an answer of the right type that belongs to something else ("how many buses?" next to "14,000
vehicles ... buses will be diverted"; "when will repairs begin?" next to "the council said on
Monday"). A cross-encoder reads question and sentence together, so it can learn what a bi-encoder's
two separate vectors cannot: which noun the number counts, which event the date dates.

The model is all-MiniLM-L6-v2 cut to its first layers with a one-logit head, fine-tuned on the
project's training question sets (PolNeAR train articles; `scripts/train_cross_encoder.py`), then
exported to ONNX and quantised to int8. It ships in `bot/models/` with its tokenizer and a
metadata file (version, hashes, cross-validated figures), and runs on onnxruntime + tokenizers:
no torch at run time. Nothing is loaded until the first `score`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
MODEL_FILE = "slot_check.int8.onnx"
TOKENIZER_FILE = "slot_check.tokenizer.json"
META_FILE = "slot_check.json"
#: Pairs per onnxruntime run: a query scores a handful; more only when a caller batches.
_BATCH = 32


class SlotCheck:
    """Probability that a sentence answers a question, from the shipped cross-encoder."""

    def __init__(self, model_dir: Path = MODELS_DIR) -> None:
        self.model_dir = model_dir
        self.meta: dict[str, Any] = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        self.max_length = int(self.meta.get("max_length", 128))
        self.version = int(self.meta["version"])
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._inputs: set[str] = set()
        self._lock = threading.Lock()

    def _load(self) -> None:
        """Open the ONNX session and tokenizer (once; ~0.1 s, see docs/performance.md)."""
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.model_dir / TOKENIZER_FILE))
            tokenizer.enable_truncation(self.max_length, strategy="longest_first")
            tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
            options = onnxruntime.SessionOptions()
            # One thread: a query scores one pair, too little work to share; two threads meeting after
            # every operator (spinning off, below) took 1.65-1.76 ms a pair against 1.37-1.45 ms
            # (docs/performance.md, "Query path, 2026-12-03").
            options.intra_op_num_threads = 1
            # As in bot/embedding/onnx_encoder.py: spinning idle workers starve FAISS and other processes.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(
                str(self.model_dir / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
            self._inputs = {i.name for i in session.get_inputs()}
            self._tokenizer = tokenizer
            self._session = session

    def score(self, question: str, sentences: list[str]) -> list[float]:
        """For each sentence, the probability that it answers `question` (0 for blank text).

        Long inputs are cut to the model's `max_length` tokens, the longer of the two sides first.
        """
        out = [0.0] * len(sentences)
        if not question.strip():
            return out
        todo = [i for i, s in enumerate(sentences) if s and s.strip()]
        if not todo:
            return out
        self._load()
        assert self._session is not None and self._tokenizer is not None
        for start in range(0, len(todo), _BATCH):
            chunk = todo[start : start + _BATCH]
            encodings = self._tokenizer.encode_batch([(question, sentences[i]) for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            feed = {
                "input_ids": ids,
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            logits = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0].reshape(-1)
            probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
            for i, p in zip(chunk, probs.tolist(), strict=True):
                out[i] = float(p)
        return out

    def weights_match(self) -> bool:
        """Whether the weights file is the one the metadata describes (its sha256)."""
        digest = hashlib.sha256((self.model_dir / MODEL_FILE).read_bytes()).hexdigest()
        return digest == self.meta.get("onnx_sha256")


@lru_cache(maxsize=1)
def default_slot_check() -> SlotCheck:
    """The shipped model, shared by every caller in the process (loaded on first score)."""
    return SlotCheck()
