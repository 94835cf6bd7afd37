"""The index behind one interface (`reader.IndexReader`), and its embedded FAISS + SQLite backend.

Only this package reads or writes the index's files and runs SQL against it:

- `reader.py`, `records.py`: the interface every caller reads through, and what it returns;
- `manifest.py`: versions on disk, what built them, which is live;
- `embedded.py`: the reader over one version's FAISS files and SQLite store (`sqlite.py`,
  `views.py`, `fts.py`, `postings.py`, `vectors.py`);
- `writer.py`: writes a new version and publishes it at once.
"""
