"""Passages and speakers: sentences, passages, the spaCy parse, attribution, answer slots, wording."""
