"""The embedding model on onnxruntime: an ONNX export made once, then run without torch.

Why: `import sentence_transformers` (torch + transformers) costs ~5 s per process, while
onnxruntime and tokenizers import in well under a second, and onnxruntime encodes faster on CPU.
The export is made with `torch.onnx.export` from the same weights the torch backend loads, the
first time it is needed, into the user's cache folder (shared by every index on the machine,
keyed by the model's identity); later processes only read it.

It reproduces what sentence-transformers does for all-MiniLM-L6-v2 (and other BERT-style models
with mean pooling): WordPiece tokens truncated to `max_seq_length`, mean of the token vectors over
the attention mask, L2 normalisation. Measured against sentence-transformers, the fp32 export gives
the same vectors (cosine 1.00000), so an index built by either backend serves the other.

int8 (the default precision): dynamic quantisation of the fp32 export's MatMul weights, per
channel (`onnxruntime.quantization.quantize_dynamic`), but for the first three feed-forward output
projections (`KEEP_FP32`), made once beside it. It embeds ~1.6x faster than fp32; its vectors
differ slightly (mean cosine 0.995 to fp32), which cost 0.41 point of hit@1 and none of hit@3
over 737 questions of five sets (benchmarks/compare_precision.py; quantising every MatMul was ~2x
faster but lost 0.95 point of hit@3, over the 0.5 allowed). An int8 index records "#int8-v3" in
its model name, so its vectors are never mixed with fp32 ones (nor with another quantisation's).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.embedding.lean import LEAN_VERSION

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

#: Bump when the export changes, so that old exports in caches are not reused.
EXPORT_VERSION = 1
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Bump when the quantisation changes: it names the int8 file and the vectors ("#int8-v3" in the
#: model name of indexes and cache entries), so older int8 vectors are rebuilt, not mixed in.
QUANTISATION_VERSION = 3
#: MatMuls kept in fp32: the feed-forward output projections of the first layers. They read the
#: GELU's long-tailed activations, which 8-bit dynamic ranges clip worst, and early errors
#: propagate through every later layer (layers 0-2 kept: mean cosine to fp32 vectors 0.9922 →
#: 0.9952, against 0.9957 with all six kept at twice the fp32 share of the work).
KEEP_FP32 = tuple(f"/encoder/layer.{n}/output/dense/MatMul" for n in range(3))
#: Padded tokens per encode batch at most (see `token_batches`). 512 rather than 1,024 since the
#: parallel batches: ~5-10% less CPU on a build's texts; int8 vectors move with their batch
#: neighbours, and over 737 questions hit@1 was 604 against 607 with 1,024 (fp32 606), hit@3 693
#: both (fp32 694): within issue 17's rule (docs/performance.md).
TOKEN_BUDGET = 512
#: Bulk encode workers when the setting says 0 (one per core): more than 8 one-thread sessions on
#: one model have not been measured.
MAX_AUTO_WORKERS = 8


def resolve_workers(setting: int) -> int:
    """Bulk encode workers for the EMBEDDING_WORKERS setting: 0 means one per CPU core (up to 8)."""
    return setting if setting > 0 else max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS))


def default_cache_dir() -> Path:
    """Where exports go when no cache folder is given: the user's cache folder."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "report-bot"


def _fingerprint(model_dir: Path) -> str:
    """A short hash of the model's identity: its folder and the size and mtime of its weights."""
    parts = [str(model_dir.resolve()), str(EXPORT_VERSION)]
    for name in sorted(os.listdir(model_dir)):
        if name.endswith((".safetensors", ".bin", "config.json")):
            st = (model_dir / name).stat()
            parts.append(f"{name}:{st.st_size}:{int(st.st_mtime)}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def export_path(model_dir: Path, cache_dir: Path, precision: str = "fp32", *, lean: bool = True) -> Path:
    """Where the export of this model (at this precision) lives in `cache_dir`.

    `lean`: the file sessions run, the export (or its quantisation) passed through
    `bot.embedding.lean` (same vectors, less work); else the file it was made from.
    """
    name = "model" if precision == "fp32" else f"model.{precision}-v{QUANTISATION_VERSION}"
    suffix = f".lean-v{LEAN_VERSION}.onnx" if lean else ".onnx"
    return cache_dir / "onnx" / f"{model_dir.name}-{_fingerprint(model_dir)}" / (name + suffix)


def ensure_export(model_dir: Path, cache_dir: Path, precision: str = "fp32") -> Path:
    """The ONNX file sessions run for this model and precision, made first (export, int8, lean) if not cached."""
    target = export_path(model_dir, cache_dir, precision)
    if target.is_file():
        return target
    from filelock import FileLock  # here: it imports asyncio, ~0.1-0.5 s off every start

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / "export.lock"):
        fp32 = export_path(model_dir, cache_dir, lean=False)
        if not fp32.is_file():  # else another process exported it while we waited
            log.info("exporting %s to ONNX (once) in %s", model_dir.name, target.parent)
            _export(model_dir, fp32)
        source = export_path(model_dir, cache_dir, precision, lean=False)
        if precision == "int8" and not source.is_file():
            log.info("quantising %s to int8 (once)", model_dir.name)
            _quantise(fp32, source)
        if not target.is_file():
            from bot.embedding.lean import lean

            lean(source, target)
    return target


def _quantise(source: Path, target: Path) -> None:
    """int8 weights for every MatMul but `KEEP_FP32`, one scale per output channel; activations stay float.

    Per channel because per-tensor scales cost too much accuracy here (mean cosine to fp32 0.964
    against 0.992: docs/performance.md).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    matmuls = [n.name for n in onnx.load(str(source), load_external_data=False).graph.node if n.op_type == "MatMul"]
    keep = [n for n in matmuls if n.endswith(KEEP_FP32)]
    tmp = target.with_suffix(".partial.onnx")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice is for static quantisation
    try:
        quantize_dynamic(
            str(source),
            str(tmp),
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=keep,
        )
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


def _export(model_dir: Path, target: Path) -> None:
    """Trace the transformer (without pooling) to ONNX with dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_dir))
    model.eval()

    class Hidden(torch.nn.Module):
        """The model's last hidden state, the only output pooling needs."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            hidden: torch.Tensor = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return hidden

    dummy = tuple(torch.ones(2, 8, dtype=torch.long) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    tmp = target.with_suffix(".partial.onnx")
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            Hidden(model),
            dummy,
            str(tmp),
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)


class OnnxEncoder:
    """Mean-pooled, normalised sentence vectors from an ONNX export, as sentence-transformers makes them."""

    def __init__(
        self, model_dir: Path, cache_dir: Path | None = None, precision: str = "fp32", workers: int = 1
    ) -> None:
        from tokenizers import Tokenizer

        #: The file the sessions run (`export_path`).
        self.path = ensure_export(model_dir, cache_dir or default_cache_dir(), precision)
        self.session = self._new_session(min(4, os.cpu_count() or 1))
        #: Threads of a bulk encode (see `encode`); 1 runs every batch on `session`.
        self.workers = max(1, workers)
        self._bulk: onnxruntime.InferenceSession | None = None
        self._bulk_lock = threading.Lock()
        #: Encodes that took the parallel path (tests and benchmarks check which path ran).
        self.bulk_encodes = 0
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(_max_seq_length(model_dir))
        self.tokenizer.no_padding()  # `encode` pads each batch itself, to its longest text
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.dimension = int(json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["hidden_size"])

    def _new_session(self, threads: int) -> onnxruntime.InferenceSession:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # Idle workers spinning for work starve FAISS's and other processes' threads on a small
        # machine: a query's search took ~15 ms instead of ~0.01 ms right after an encode.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        return onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @property
    def bulk_session(self) -> onnxruntime.InferenceSession:
        """A one-thread session that `workers` threads share for bulk encodes, made on first use.

        Why one thread per batch and several batches at once, rather than `session`'s threads
        splitting each batch: those threads meet after every operator of every batch, and with
        spinning off (see `_new_session`) each meeting waits for a thread to wake; batches in
        parallel never wait for each other (onnxruntime releases the GIL in `run`, and one
        session may run on several threads at once). A question is one batch, so it keeps the
        multi-threaded session (docs/performance.md, "Embedding stage: parallel batches").
        """
        if self._bulk is None:
            with self._bulk_lock:
                if self._bulk is None:
                    self._bulk = self._new_session(1)
        return self._bulk

    def encode(self, texts: list[str], batch_size: int = 32, started: Callable[[], object] | None = None) -> np.ndarray:
        """Unit vectors for `texts`, float32, shape (len(texts), dimension).

        Texts are tokenised once, then batched longest first by their token counts (not their
        characters: a batch is padded to its longest text, and characters per token vary enough
        that sorting by characters padded 39% over the real tokens of a build's texts, against
        8% by tokens), at most `batch_size` texts and `TOKEN_BUDGET` padded tokens a batch. More
        than one batch with more than one worker: the batches go to `workers` threads on
        `bulk_session`, longest first, each taking the next when done. The vectors come back in
        the order of `texts`, and do not depend on the number of workers. `started` (when given)
        is called once, right before the first batch runs (`Embedder.encode`).
        """
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), np.int64, len(texts))
        order = np.argsort(-lengths, kind="stable")
        batches = [order[b] for b in token_batches(lengths[order], batch_size, TOKEN_BUDGET)]
        vectors = np.empty((len(texts), self.dimension), np.float32)

        def run(session: onnxruntime.InferenceSession, rows: np.ndarray, then: Callable[[], object] | None) -> None:
            vectors[rows] = self._embed_batch(session, [encodings[i].ids for i in rows], then)

        workers = min(self.workers, len(batches))
        if workers < 2:
            for rows in batches:
                run(self.session, rows, started)
                started = None
            return vectors
        if started is not None:
            started()
        session, pending, lock = self.bulk_session, iter(batches), threading.Lock()
        self.bulk_encodes += 1

        def work() -> None:
            while True:
                with lock:
                    rows = next(pending, None)
                if rows is None:
                    return
                run(session, rows, None)

        with ThreadPoolExecutor(workers, thread_name_prefix="encode") as pool:
            for done in [pool.submit(work) for _ in range(workers)]:
                done.result()  # re-raises a worker's error
        return vectors

    def _embed_batch(
        self,
        session: onnxruntime.InferenceSession,
        ids_rows: list[list[int]],
        started: Callable[[], object] | None = None,
    ) -> np.ndarray:
        """Mean-pooled unit vectors of one batch of token id lists, longest first (`started()` before the run)."""
        width = len(ids_rows[0])
        ids = np.full((len(ids_rows), width), self.pad_id, np.int64)
        mask = np.zeros((len(ids_rows), width), np.int64)
        for r, row in enumerate(ids_rows):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feed = {k: v for k, v in feed.items() if k in self._inputs}
        if started is not None:
            started()
        hidden = session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.asarray(pooled, np.float32)


def token_batches(lengths: np.ndarray, batch_size: int, budget: int) -> list[slice]:
    """Batches over `lengths` (sorted longest first) as consecutive slices, one text at least each.

    Each holds at most `batch_size` texts and, padded to its first (longest) text, at most
    `budget` tokens. Why a budget as well as a count: a batch's activations then stay small
    enough for the CPU's caches whatever the texts' lengths (on this machine an int8 encode of
    a build's texts took 6-12% less CPU in batches of <= 512-1024 padded tokens than in fixed
    batches of 32), and long passages are not batched with rows that are mostly padding.
    """
    out: list[slice] = []
    start = 0
    while start < len(lengths):
        fits = max(1, min(batch_size, budget // max(int(lengths[start]), 1)))
        out.append(slice(start, min(start + fits, len(lengths))))
        start += fits
    return out


def _max_seq_length(model_dir: Path) -> int:
    """sentence-transformers' truncation length for this model (256 for all-MiniLM-L6-v2)."""
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 256
