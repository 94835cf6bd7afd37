"""Invalid settings are one line naming the setting and a non-zero exit, never a pydantic traceback."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings
from tests.conftest import run_script


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
