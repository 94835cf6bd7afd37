"""Retrieval and decision: candidates, fusion, quote choice, and the answer-or-decline model."""
