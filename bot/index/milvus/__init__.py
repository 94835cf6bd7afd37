"""Milvus as the search backend (SEARCH_BACKEND=milvus, docs/scale.md): the same index, on a server.

`store.MilvusStore` owns the collections (one set per build version, published by switching
aliases) and the search primitives; `analysis` turns text into the index's own tokens.
"""
