"""The index's storage: versioned FAISS + SQLite folders, lexical postings, per-version views.

Only this package reads or writes the index's files and SQL.
"""
