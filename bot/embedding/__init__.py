"""Embeddings: the sentence-transformers model (torch or ONNX Runtime) and the vector cache."""
