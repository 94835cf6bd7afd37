"""Building the index: corpus → passages → vectors (cached) → a new index version, swapped in.

`run.build_index` is the entry point (the CLIs, the evaluation and the tests call it);
`plan.py` says what a build would do, `write.py` does it, `cache.py` keeps the embedding cache
to what the versions on disk use, `lock.py` lets one build run at a time.
"""
