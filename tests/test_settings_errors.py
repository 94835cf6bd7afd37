"""Invalid settings are one line naming the setting and a non-zero exit, never a pydantic traceback."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from tests.conftest import ROOT, run_script


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TELEGRAM_ALLOWED_IDS", "abc", "TELEGRAM_ALLOWED_IDS='abc'"),
        ("TOP_K", "zero", "TOP_K='zero'"),
        ("TOP_K", "0", "TOP_K='0': input should be greater than or equal to 1"),
        ("TELEGRAM_WEBHOOK_PORT", "99999", "TELEGRAM_WEBHOOK_PORT='99999'"),
        ("TELEGRAM_USER_RATE_SECONDS", "-1", "TELEGRAM_USER_RATE_SECONDS='-1'"),
    ],
)
def test_invalid_setting_is_a_config_error_naming_it(monkeypatch, name: str, value: str, expected: str):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    assert str(err.value).startswith(f"invalid setting {expected}")
    assert "\n" not in str(err.value) and ".env.example" in err.value.hint


@pytest.mark.parametrize(
    "command",
    [["-m", "bot"], ["scripts/query.py", "Where is Maasran?"], ["scripts/build_index.py"]],
    ids=["python -m bot", "query.py", "build_index.py"],
)
def test_invalid_settings_exit_non_zero_with_one_line(command: list[str]):
    result = run_script(*command, env={"TELEGRAM_ALLOWED_IDS": "abc", "TOP_K": "zero"}, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "pydantic" not in result.stderr
    error, hint = result.stderr.strip().splitlines()
    assert (
        error.startswith("error: invalid setting ")
        and "TELEGRAM_ALLOWED_IDS='abc'" in error
        and "TOP_K='zero'" in error
    )
    assert hint.startswith("hint: fix it in .env")


# --- issue 16, families 9 and 14: settings files, the log level, float thresholds ----------------

COMMANDS = {
    "python -m bot": ["-m", "bot"],
    "query.py": [str(ROOT / "scripts/query.py"), "Where is Maasran?"],
    "build_index.py": [str(ROOT / "scripts/build_index.py")],
    "add_article.py": [str(ROOT / "scripts/add_article.py"), "missing.txt", "--no-build"],
    "evaluate.py": [str(ROOT / "scripts/evaluate.py"), "questions.jsonl"],
}


def make_env_problem(folder: Path, problem: str) -> dict[str, str]:
    """Put one settings problem in `folder` (the working directory); returns extra environment."""
    env_file = folder / ".env"
    if problem == "LOG_LEVEL=LOUD":
        return {"LOG_LEVEL": "LOUD"}
    if problem == "not UTF-8":
        env_file.write_bytes(b"TOP_K=3\nTELEGRAM_BOT_TOKEN=caf\xe9\n")
    elif problem == "unreadable":
        # Permission bits do not stop root, but /proc/self/mem refuses a plain read to everyone (EIO).
        env_file.symlink_to("/proc/self/mem")
    elif problem == "a FIFO":
        os.mkfifo(env_file)  # opening it for reading would block for ever
    elif problem == "NaN threshold":
        env_file.write_text("ANSWER_THRESHOLD=nan\n", encoding="utf-8")
    elif problem == "negative thresholds":
        env_file.write_text("ANSWER_THRESHOLD=-1\nNON_ENGLISH_MIN_CONFIDENCE=-1\n", encoding="utf-8")
    elif problem == "NUL in a path":
        env_file.write_bytes(b"INDEX_DIR=ind\x00ex\n")
    return {}


PROBLEMS = {
    "LOG_LEVEL=LOUD": "LOG_LEVEL='LOUD'",
    "not UTF-8": "is not UTF-8 text (byte 0xe9 on line 2)",
    "unreadable": "cannot read settings file .env: Input/output error",
    "a FIFO": "cannot read settings file .env: not a regular file",
    "NaN threshold": "ANSWER_THRESHOLD='nan': input should be a finite number",
    "negative thresholds": "ANSWER_THRESHOLD='-1': input should be greater than or equal to 0",
    "NUL in a path": "INDEX_DIR=",
}


@pytest.mark.slow
@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_settings_problem_is_one_line_in_every_command(tmp_path: Path, command: str, problem: str):
    """Bad log level, undecodable/unreadable/FIFO .env, NaN or negative threshold: one line, exit 1, every CLI."""
    extra = make_env_problem(tmp_path, problem)
    result = subprocess.run(
        [sys.executable, *COMMANDS[command]],
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith("error: ") and PROBLEMS[problem] in error, error
    assert hint.startswith("hint: ") and ".env.example" in hint


FLOAT_SETTINGS = [name for name, info in Settings.model_fields.items() if info.annotation in (float, float | None)]


def test_there_are_float_settings_to_check():
    """The property below covers every float setting, current and future."""
    assert {"answer_threshold", "non_english_min_confidence", "fetch_deadline_seconds"} <= set(FLOAT_SETTINGS)


def _bounds(name: str) -> tuple[float, float]:
    low, high = -math.inf, math.inf
    for item in Settings.model_fields[name].metadata:
        low = max(low, getattr(item, "ge", None) if getattr(item, "ge", None) is not None else low)
        low = max(low, getattr(item, "gt", None) if getattr(item, "gt", None) is not None else low)
        high = min(high, getattr(item, "le", None) if getattr(item, "le", None) is not None else high)
        high = min(high, getattr(item, "lt", None) if getattr(item, "lt", None) is not None else high)
    return low, high


@pytest.mark.parametrize("name", FLOAT_SETTINGS)
def test_every_float_setting_has_finite_bounds_that_refuse_negatives(name: str):
    """A float setting without a lower bound of 0 or more would take -1 (answering off-topic questions)."""
    low, high = _bounds(name)
    assert low >= 0 and math.isfinite(high), (name, low, high)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(FLOAT_SETTINGS),
    text=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999", "-1", "-0.0", " 0.5 ", "1e-400"]),
        st.text(max_size=12),
    ),
)
def test_float_settings_are_finite_and_in_range_or_refused(name: str, text: str):
    """Any text for any float setting: a finite value within its bounds, or a ConfigError naming it."""
    try:
        value = getattr(load_settings(_env_file=None, **{name: text}), name)
    except ConfigError as exc:
        assert name.upper() in str(exc) and "\n" not in str(exc)
        return
    low, high = _bounds(name)
    assert value is None or (math.isfinite(value) and low <= value <= high)


def test_both_thresholds_at_minus_one_are_refused(monkeypatch):
    """The issue's example (thresholds at -1 answered off-topic questions), on today's two thresholds."""
    monkeypatch.setenv("ANSWER_THRESHOLD", "-1")
    monkeypatch.setenv("NON_ENGLISH_MIN_CONFIDENCE", "-1")
    with pytest.raises(ConfigError, match=r"ANSWER_THRESHOLD='-1'.*NON_ENGLISH_MIN_CONFIDENCE='-1'"):
        load_settings(_env_file=None)


ENV_NAMES = [name.upper() for name in Settings.model_fields]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.tuples(st.sampled_from(ENV_NAMES), st.text(max_size=40)).map(lambda kv: f"{kv[0]}={kv[1]}"),
            max_size=6,
        ).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
    )
)
def test_any_settings_file_loads_or_is_one_config_error(tmp_path: Path, content: bytes):
    """Arbitrary .env bytes, and NAME=arbitrary-text lines for every setting: Settings or one ConfigError line."""
    env_file = tmp_path / "settings.env"
    env_file.write_bytes(content)
    try:
        loaded = load_settings(_env_file=env_file)
    except ConfigError as exc:
        assert "\n" not in str(exc) and exc.hint
        return
    for name in FLOAT_SETTINGS:
        assert getattr(loaded, name) is None or math.isfinite(getattr(loaded, name))
    assert "\x00" not in str(loaded.index_dir) + str(loaded.corpus_dir)
    assert loaded.log_level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
