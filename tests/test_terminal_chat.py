"""The terminal chat (`make run` without a token) and `python -m bot`."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.terminal import chat
from tests.conftest import run_script


def converse(engine: Engine, *lines: str) -> str:
    out = io.StringIO()
    assert chat(engine, io.StringIO("\n".join(lines) + "\n"), out) == 0
    return out.getvalue()


def test_question_more_context_sources_who(engine: Engine):
    text = converse(
        engine,
        "How many Russian air strikes were counted over Idlib and Hama?",
        "/more",
        "/context",
        "/sources",
        "/who SOHR",
        "/who",
        "/nonsense",
        "/quit",
        "never read",
    )
    assert "«Over 40 air strikes showered over Idlib and Hama on Wednesday only, SOHR confirmed on Thursday.»" in text
    assert "4. «" in text  # /more continues the numbering after the first three
    assert "¶11 " in text and "¶13 " in text  # /context: the paragraph and its neighbours
    assert "Syrian regime initiates second Russian-backed offensive · 8 Oct 2015 (18 passages)" in text
    assert "Eyewitnesses and locals: 1" in text
    assert "Unknown command /nonsense" in text
    assert "never read" not in text


def test_unanswerable_question_is_said_plainly(engine: Engine):
    text = converse(engine, "How do I reset my router?")
    assert "The report does not answer this" in text and "related, not an answer" in text


def test_non_english_question_gets_the_english_only_notice(engine: Engine):
    text = converse(engine, "Kaç kişi öldü ve kaç hava saldırısı yapıldı?")
    assert "(questions must be asked in English (this looks like Turkish))" in text
    assert "does not answer this" in text


def test_commands_before_a_question(engine: Engine):
    text = converse(engine, "/more", "/context")
    assert text.count("Ask a question first.") == 2


@pytest.mark.slow
def test_python_m_bot_without_token_answers_from_stdin(seed_index: Path):
    result = run_script(
        "-m",
        "bot",
        stdin="How many Russian air strikes were counted over Idlib and Hama?\n",
        env={"INDEX_DIR": str(seed_index), "TELEGRAM_BOT_TOKEN": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "SOHR confirmed on Thursday.»" in result.stdout
    assert "— SOHR (Syrian Observatory for Human Rights)" in result.stdout
    assert "Syrian regime initiates second Russian-backed offensive" in result.stdout


class RebuildBefore(io.StringIO):
    """Chat input that runs `action` (a rebuild) just before the chat reads line number `before`."""

    def __init__(self, text: str, before: int, action) -> None:  # type: ignore[no-untyped-def]
        super().__init__(text)
        self.calls, self.before, self.action = 0, before, action

    def readline(self, *args) -> str:  # type: ignore[no-untyped-def, override]
        self.calls += 1
        if self.calls == self.before:
            self.action()
        return super().readline(*args)


def test_a_rebuilt_index_is_a_chat_line_and_logs_stay_out_of_the_conversation(
    multi_copy: tuple[Path, Path], embedder, tmp_path: Path
):
    from bot.build.run import build_index
    from bot.cli.common import configure_logging
    from bot.settings import Settings

    corpus, index = multi_copy
    engine = Engine(Settings(_env_file=None, index_dir=index), embedder=embedder)

    def rebuild() -> None:
        (corpus / "flood.txt").unlink()
        (corpus / "wildfire.md").unlink()
        build_index(corpus, index, embedder)

    configure_logging("INFO")  # as `python -m bot` sets it up: the bot's INFO lines on a terminal handler
    terminal_log = io.StringIO()
    handler = logging.StreamHandler(terminal_log)
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    out = io.StringIO()
    try:
        chat(
            engine,
            RebuildBefore("How many dockworkers stopped work at Port Velmar?\n/sources\n", 2, rebuild),
            out,
            log_file=tmp_path / "chat.log",
        )
        assert handler.level == logging.INFO  # restored once the chat ends
    finally:
        logging.getLogger().removeHandler(handler)
    text = out.getvalue()
    assert "(index updated: 5 articles)" in text
    assert text.index("(index updated: 5 articles)") < text.index("Articles in the index:")
    assert "index reloaded" not in text and "INFO" not in text
    assert "index reloaded" not in terminal_log.getvalue()  # not on the terminal either...
    assert "INFO bot.engine: index reloaded: version" in (tmp_path / "chat.log").read_text()  # ...but in the file


@pytest.mark.slow
def test_terminal_chat_has_line_editing_and_history(seed_index: Path, tmp_path: Path):
    """At a real terminal (a pseudo-terminal): arrow keys edit the line, Up recalls it, history is saved."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    from bot.embedding.onnx_encoder import default_cache_dir
    from tests.conftest import ROOT

    cache = tmp_path / "cache"
    (cache / "report-bot").mkdir(parents=True)
    if (default_cache_dir() / "onnx").is_dir():  # reuse the ONNX export instead of making it again
        (cache / "report-bot" / "onnx").symlink_to(default_cache_dir() / "onnx")
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "HF_HUB_OFFLINE": "1", "TERM": "xterm"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "scripts/query.py", "--index", str(seed_index)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    seen = b""

    def until(marker: bytes, count: int = 1, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while seen.count(marker) < count:
            assert time.monotonic() < deadline, f"never saw {marker!r} x{count} in {seen.decode(errors='replace')}"
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break

    quote = b"Over 40 air strikes showered over Idlib and Hama"
    try:
        until(b"> ")
        os.write(leader, b"/who OHR" + b"\x1b[D" * 3 + b"S\r")  # type, go back 3, insert: "/who SOHR"
        until(quote)
        until(b"> ", 2)
        os.write(leader, b"\x1b[A\r")  # Up recalls "/who SOHR"
        until(quote, 2)
        until(b"> ", 3)
        os.write(leader, b"\x04")  # Ctrl-D leaves
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    assert b"^[[" not in seen  # arrow keys were understood, not echoed as ^[[D
    assert b"No quotes attributed" not in seen
    history = (cache / "report-bot" / "chat-history").read_text(encoding="utf-8")
    assert "/who SOHR" in history
