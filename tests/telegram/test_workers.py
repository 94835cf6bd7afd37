"""Several bot workers behind one webhook (issue 14, "Several bot workers"), with real processes.

`python -m bot --workers 2` runs for real: a supervisor and two worker processes, each with its own
engine over the seed index, sharing TELEGRAM_STATE_DIR. The emulator delivers every update by
webhook (it implements setWebhook and posts each update to the URL); the URL is a small round-robin
reverse proxy (`proxy.py`, standing in for nginx: none installs from the registries here), which
spreads the calls over the two workers as nginx's `upstream` would and records who got what.
One test also posts updates to each worker directly, as a proxy's retry would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from conftest import ISSUED_SECRETS, User, bot_settings, free_port
from proxy import RoundRobinProxy
from test_telegram_e2e import ANSWERED, buttons, text_of

from bot.telegram.app import build_application, running
from bot.telegram.flood import THROTTLE_TEXT
from bot.telegram.shared import SharedState
from bot.telegram.workers import LEADER_LOCK, Leader
from tests.conftest import ROOT

#: The fleet's tests share the session's event loop with the emulator's fixtures.
fleet_test = pytest.mark.asyncio(loop_scope="session")

SECRET = "workers-s3cret"
RATE = 5  # TELEGRAM_USER_RATE of the workers: low enough to flood in a test
ADMIN = 777_000  # TELEGRAM_ADMIN_IDS of the workers (the `User`s' own ids count up from 1000)


def two_free_ports() -> int:
    """A port p with p and p + 1 both free (worker i listens on TELEGRAM_WEBHOOK_PORT + i)."""
    for _ in range(50):
        base = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base
    raise AssertionError("no two consecutive free ports")


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def fleet_env(emulator: str, port: int, hook: str, **extra: str) -> dict[str, str]:
    """The environment of `python -m bot --workers 2` at the emulator, webhook mode, worker i on `port` + i.

    The bot token is new for each fleet (its own chats at the emulator) and listed in
    `ISSUED_SECRETS`, so the session's log audit checks that it never shows; `extra` goes on top.
    """
    token = f"{time.time_ns() % 10**9}:TEST-{uuid.uuid4().hex}"
    ISSUED_SECRETS.append(token)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_BASE_URL": f"{emulator}/bot",
        "TELEGRAM_WEBHOOK_URL": hook,
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": str(port),
        **extra,
    }


class Fleet:
    """The supervisor process, its log, the proxy in front, the ports of its workers and its bot token."""

    def __init__(
        self, proc: subprocess.Popen, log: Path, proxy: RoundRobinProxy, ports: list[int], state: Path, token: str
    ):
        self.proc, self.log, self.proxy, self.ports, self.state, self.token = proc, log, proxy, ports, state, token

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()

    def worker_on(self, port: int) -> psutil.Process:
        for child in self.workers():
            with contextlib.suppress(psutil.Error):
                if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in child.net_connections()):
                    return child
        raise AssertionError(f"no worker listens on {port}\n{self.log.read_text()}")

    def routed_since(self, mark: int) -> list[tuple[int | None, int]]:
        return self.proxy.routed[mark:]


async def wait_until(condition: Any, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f"\n{log.read_text()}" if log else ""))
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def fleet(emulator: str, seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fleet]:
    """`python -m bot --workers 2` behind the proxy, webhook set at the emulator; stopped with SIGTERM."""
    root = tmp_path_factory.mktemp("fleet")
    base = two_free_ports()
    proxy = RoundRobinProxy(free_port(), [base, base + 1])
    env = fleet_env(
        emulator,
        base,
        f"http://127.0.0.1:{proxy.server.server_port}/hook",
        HF_HUB_OFFLINE="1",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_STATE_DIR=str(root / "state"),
        TELEGRAM_USER_RATE=str(RATE),
        TELEGRAM_ADMIN_IDS=str(ADMIN),
        INDEX_DIR=str(seed_index),
        LOG_LEVEL="INFO",
    )
    token = env["TELEGRAM_BOT_TOKEN"]
    log = root / "fleet.log"
    with log.open("w") as out:
        # cwd: a folder without .env, so that only the environment above configures the workers.
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--workers", "2"], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    fleet = Fleet(proc, log, proxy, [base, base + 1], root / "state", token)
    async with httpx.AsyncClient(timeout=30) as http:
        admin = User(emulator, token, http)
        try:

            async def up() -> bool:
                assert proc.poll() is None, log.read_text()
                return all(listening(p) for p in fleet.ports) and len(await admin.calls("setWebhook")) >= 2

            await wait_until(up, 120, "both workers to listen and set the webhook", log)
            yield fleet
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
            finally:
                proxy.close()
            assert code == 0, log.read_text()
            assert token not in log.read_text()


@pytest.fixture
async def user(fleet: Fleet, emulator: str) -> AsyncIterator[User]:
    """A new user (own private chat) of the fleet's bot."""
    async with httpx.AsyncClient(timeout=30) as http:
        yield User(emulator, fleet.token, http)


@fleet_test
async def test_both_workers_set_the_same_webhook_and_one_leads(fleet: Fleet, user: User):
    """Each worker registers the proxy's URL with the secret (the same setting twice); one holds the lead."""
    calls = await user.calls("setWebhook")
    assert {(c["params"]["url"], c["params"]["secret_token"]) for c in calls} == {
        (f"http://127.0.0.1:{fleet.proxy.server.server_port}/hook", SECRET)
    }
    lock = (fleet.state / LEADER_LOCK).read_text().strip()
    assert int(lock) in {w.pid for w in fleet.workers()}
    assert Leader(fleet.state).acquire() is False  # held by that worker, not free
    assert fleet.log.read_text().count("leads: it runs the housekeeping") == 1


@fleet_test
async def test_every_update_is_answered_exactly_once_by_one_of_two_workers(fleet: Fleet, emulator: str):
    """Three users ask three questions each at once: nine updates, nine answers, spread over both workers."""
    mark = len(fleet.proxy.routed)
    async with httpx.AsyncClient(timeout=30) as http:
        users = [User(emulator, fleet.token, http) for _ in range(3)]
        questions = [ANSWERED, "Where is Maasran?", "What did SOHR say?"]
        await asyncio.gather(*(u.send(q) for u in users for q in questions))
        replies = await asyncio.gather(*(u.replies(n=3) for u in users))
        for u, got in zip(users, replies, strict=True):
            assert len(got) == 3, got
            assert any("Over 40 air strikes" in text_of(r) for r in got)
            assert await u.silence(wait=1.5) == []  # and nothing more: no update answered twice
    routed = fleet.routed_since(mark)
    ids = [update_id for update_id, _ in routed]
    assert len(ids) == 9 and len(set(ids)) == 9, routed  # each update delivered once, to one worker
    assert Counter(worker for _, worker in routed).keys() == {0, 1}, routed


@fleet_test
async def test_a_button_on_one_workers_answer_is_served_by_the_other(fleet: Fleet, user: User):
    """More, Context and Source, each pressed on a message sent by the other worker, answer as in one process."""
    mark = len(fleet.proxy.routed)
    (answer,) = await user.ask(ANSWERED)
    (_, first), *_ = fleet.routed_since(mark)
    keys = buttons(answer)

    fleet.proxy.pin(1 - first)
    await user.press(answer, keys["More"])
    (more,) = await user.replies()
    assert fleet.routed_since(mark)[-1][1] == 1 - first
    assert text_of(more).lstrip().startswith("4. «") or "\n4. «" in text_of(more), text_of(more)

    fleet.proxy.pin(first)  # the More message came from the other worker; press its Context here
    await user.press(more, buttons(more)["Context"])
    (context,) = await user.replies()
    assert fleet.routed_since(mark)[-1][1] == first
    assert "<b>¶" in text_of(context)

    fleet.proxy.pin(1 - first)
    await user.press(answer, keys["Source"])
    (source,) = await user.replies()
    assert "<b>Publisher:</b> TRT World" in text_of(source)

    pressed = await user.calls("answerCallbackQuery")
    assert len(pressed) == 3 and not any(c["params"].get("show_alert") for c in pressed), pressed


@fleet_test
async def test_an_update_posted_to_both_workers_is_answered_once(fleet: Fleet, user: User):
    """The same update sent to each worker directly (as a proxy retrying on another worker would): one answer.

    Posted to the workers' own ports, bypassing the emulator and the proxy, with the webhook secret.
    """
    update = {
        "update_id": 900_000_000 + user.id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": user.chat(),
            "from": user.user,
            "text": ANSWERED,
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient(timeout=30) as http:
        for port in fleet.ports:
            response = await http.post(f"http://127.0.0.1:{port}/hook", json=update, headers=headers)
            assert response.status_code == 200
        forged = await http.post(f"http://127.0.0.1:{fleet.ports[0]}/hook", json=update)
        assert forged.status_code == 403  # no secret, no update
    (reply,) = await user.replies()
    assert "Over 40 air strikes" in text_of(reply)
    assert await user.silence(wait=2) == []
    assert "was delivered again; already handled" in fleet.log.read_text()


@fleet_test
async def test_the_flood_limit_counts_a_users_updates_on_every_worker(fleet: Fleet, user: User):
    """RATE + 3 messages spread over both workers: RATE answers and one notice, not 2 x RATE answers."""
    mark = len(fleet.proxy.routed)
    for i in range(RATE + 3):
        await user.send(f"Where is Maasran? ({i})")
    replies = await user.replies(n=RATE + 1)
    replies += await user.silence(wait=2)
    texts = [text_of(r) for r in replies]
    notice = THROTTLE_TEXT.format(seconds=20)
    assert texts.count(notice) == 1 and len(texts) == RATE + 1, texts
    assert Counter(w for _, w in fleet.routed_since(mark)).keys() == {0, 1}


@fleet_test
async def test_reload_sent_to_one_worker_reopens_the_index_on_the_other(fleet: Fleet, emulator: str):
    """/reload reaches one worker; the other re-opens its index before its next answer, once, and says so.

    Worker w gets the command and re-opens at once; then a question pinned to the other worker
    makes it re-open (its log line comes before its answer), and a second one does not again.
    """
    reopened = "bot.telegram.reloads: index re-opened for a /reload sent to another worker"
    async with httpx.AsyncClient(timeout=30) as http:
        admin = User(emulator, fleet.token, http, user_id=ADMIN)  # type: ignore[attr-defined]
        mark = len(fleet.proxy.routed)
        (reloaded,) = await admin.ask("/reload")
        assert text_of(reloaded).startswith("Index re-opened: version "), text_of(reloaded)
        assert "The other workers re-open it before their next update." in text_of(reloaded)
        (_, w), *_ = fleet.routed_since(mark)
        before = fleet.log.read_text()
        for _ in range(2):
            fleet.proxy.pin(1 - w)
            (reply,) = await admin.ask(ANSWERED)
            assert "Over 40 air strikes" in text_of(reply)
            assert fleet.routed_since(mark)[-1][1] == 1 - w
        fleet.proxy.pin(w)
        (reply,) = await admin.ask(ANSWERED)
        assert "Over 40 air strikes" in text_of(reply)
    after = fleet.log.read_text()[len(before) :]
    assert after.count(f"worker {1 - w} {reopened}") == 1, after
    assert f"worker {w} {reopened}" not in after, after


@fleet_test
async def test_a_killed_worker_is_restarted_and_the_other_answers_meanwhile(fleet: Fleet, user: User):
    """SIGKILL one worker: its calls go to the other (the proxy skips a refused connection), then it is back."""
    victim = fleet.worker_on(fleet.ports[1])
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    mark = len(fleet.proxy.routed)
    for question in (ANSWERED, "Where is Maasran?"):
        (reply,) = await user.ask(question)
        assert "Sorry" not in text_of(reply)
    assert {w for _, w in fleet.routed_since(mark)} == {0}

    async def back() -> bool:
        return listening(fleet.ports[1])

    await wait_until(back, 120, "the killed worker to be restarted", fleet.log)
    assert "exited with -9; restarting it" in fleet.log.read_text()
    mark = len(fleet.proxy.routed)
    fleet.proxy.pin(1)
    (reply,) = await user.ask(ANSWERED)
    assert "Over 40 air strikes" in text_of(reply)
    assert fleet.routed_since(mark)[0][1] == 1


# -- the shared state and the lead, between real processes, without the bot ----------------------

_RESERVE = """
import json, sys, time
from pathlib import Path
from bot.telegram.shared import SharedState
state = SharedState(Path(sys.argv[1]), bot_id="1")
print("ready", flush=True)
sys.stdin.readline()  # both processes start reserving at the same moment
grants = [time.time() + state.run(state.reserve, [("all", 30.0, 1.0)]) for _ in range(45)]
state.close()
print(json.dumps(grants))
"""


def _together(code: str, folder: Path, n: int) -> list[subprocess.Popen[str]]:
    """Start `n` Python processes running `code` on `folder`; once all say "ready", tell them all to go."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # stderr: pytest's capture shows a child's traceback
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(n)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    return procs


def test_the_send_budget_is_one_for_all_processes(tmp_path: Path):
    """Two processes reserve 45 sends each at once: together they keep to 30/s (a burst of 30, then one per 1/30 s).

    With a budget per process each would burst 30 at once and send at 30/s: twice the bot's cap.
    """
    procs = _together(_RESERVE, tmp_path, 2)
    each = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert min(each[0]) < max(each[1]) and min(each[1]) < max(each[0])  # they did run at the same time
    grants = sorted(each[0] + each[1])
    first = grants[0]
    for k, at in enumerate(grants):
        # The k-th send overall may go no earlier than the bucket allows: k - 30 slots after the burst.
        assert at >= first + (k - 30) / 30 - 0.05, (k, at - first)
    assert grants[-1] - first >= (90 - 30) / 30 - 0.05


_OPEN = """
import sys
from pathlib import Path
from bot.telegram.shared import SharedState
print("ready", flush=True)
sys.stdin.readline()  # every process opens the fresh folder at the same moment
SharedState(Path(sys.argv[1]), bot_id="1").close()
print("opened", flush=True)
"""


def test_workers_started_together_all_open_the_new_state(tmp_path: Path):
    """Eight processes create and open one state folder at once, three times: every one opens it.

    Switching a new file to WAL makes SQLite answer some racing connections "database is locked"
    at once, busy timeout or not; workers started together must wait their turn, not exit.
    """
    for round_ in range(3):
        for p in _together(_OPEN, tmp_path / str(round_), 8):
            out = p.communicate(timeout=60)[0]
            assert p.returncode == 0 and out.strip() == "opened"


@fleet_test
async def test_a_pause_after_retry_after_holds_every_process(tmp_path: Path):
    """A RetryAfter seen by one worker (`pause`) makes the next reservation of any worker wait it out."""
    one, two = SharedState(tmp_path, "1"), SharedState(tmp_path, "1")  # two handles on one file, as two workers
    try:
        await one.call(one.pause, 3.0)
        waited = await two.call(two.reserve, [("all", 30.0, 1.0)])
        assert 2.5 < waited <= 3.0
    finally:
        one.close()
        two.close()


def test_a_state_folder_belongs_to_one_bot(tmp_path: Path):
    """Another bot's state folder is refused in one line: chat and message ids of two bots would mix."""
    SharedState(tmp_path, "111").close()
    with pytest.raises(Exception, match="holds the state of bot 111, not of this bot \\(222\\)"):
        SharedState(tmp_path, "222")


_HOLD = """
import sys, time
from pathlib import Path
from bot.telegram.workers import Leader
assert Leader(Path(sys.argv[1])).acquire()
print("leading", flush=True)
time.sleep(600)
"""


def test_the_lead_passes_on_when_its_holder_is_killed(tmp_path: Path):
    """One process leads; while it lives nobody else can; killed (no clean-up at all), the lead is free."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "leading"
        me = Leader(tmp_path)
        assert not me.acquire() and not me.held
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert me.acquire() and me.held
        assert (tmp_path / LEADER_LOCK).read_text().strip() == str(os.getpid())
        me.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` in `cwd` (no .env there) with a token and `env`."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": "123:TEST", **env},
        timeout=120,
    )


def test_several_workers_without_a_webhook_are_refused_in_one_line(tmp_path: Path):
    """Polling with N processes would end in 409 Conflicts: refused before anything starts."""
    result = _cli("--workers", "2", cwd=tmp_path)
    assert result.returncode == 1
    assert "several bot workers need webhook mode (TELEGRAM_WEBHOOK_URL is not set)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_worker_without_shared_state_is_refused_in_one_line(tmp_path: Path):
    """`--worker I` by hand without TELEGRAM_STATE_DIR would keep its buttons to itself: refused."""
    result = _cli("--worker", "1", cwd=tmp_path, TELEGRAM_WEBHOOK_URL="https://example.org/hook")
    assert result.returncode == 1
    assert "bot worker 1 has no shared state (TELEGRAM_STATE_DIR is not set)" in result.stderr
    assert "Traceback" not in result.stderr


@fleet_test
async def test_workers_stop_when_the_supervisor_is_killed(emulator: str, tmp_path: Path):
    """SIGKILL the supervisor (nothing of it runs again): its workers stop too, instead of serving on unsupervised.

    A fleet of its own, without an index (the workers start anyway and say the index is unavailable).
    """
    base = two_free_ports()
    env = fleet_env(emulator, base, f"http://127.0.0.1:{free_port()}/hook", INDEX_DIR=str(tmp_path / "no-index"))
    log = tmp_path / "fleet.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--workers", "2"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    workers: list[psutil.Process] = []
    try:

        async def up() -> bool:
            assert proc.poll() is None, log.read_text()
            return listening(base) and listening(base + 1)

        await wait_until(up, 120, "both workers to listen", log)
        workers += psutil.Process(proc.pid).children()
        assert len(workers) == 2
        proc.kill()
        proc.wait()
        _gone, alive = await asyncio.to_thread(psutil.wait_procs, workers, 60)
        assert not alive, log.read_text()
        assert not listening(base) and not listening(base + 1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for worker in workers:  # still up only if the test failed
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()


@fleet_test
async def test_buttons_outlive_a_restart_with_a_state_folder(emulator: str, engine, tmp_path: Path):
    """With TELEGRAM_STATE_DIR, a button under an answer sent before a restart still works after it.

    Without one (the default) the state is a private temporary folder, as memory was: the same
    press after a restart is told the button has expired.
    """
    for state_dir, works in ((tmp_path / "state", True), (None, False)):
        settings = bot_settings(emulator, engine.index_dir, telegram_state_dir=state_dir)
        async with httpx.AsyncClient(timeout=30) as http:
            user = User(emulator, settings.telegram_bot_token.get_secret_value(), http)
            async with running(build_application(engine, settings, poll_timeout=2), settings):
                (answer,) = await user.ask(ANSWERED)
            async with running(build_application(engine, settings, poll_timeout=2), settings):
                await user.press(answer, buttons(answer)["Source"])
                (pressed,) = await user.wait_call("answerCallbackQuery")
                if works:
                    (source,) = await user.replies()
                    assert "<b>Publisher:</b> TRT World" in text_of(source)
                    assert not pressed["params"].get("show_alert")
                else:
                    assert "expired" in pressed["params"]["text"]


@fleet_test
async def test_a_failing_shared_state_costs_no_answer(emulator: str, engine, caplog: pytest.LogCaptureFixture):
    """The state file turns read-only under a running bot (as on a full or remounted disk): questions are
    still answered, without "something went wrong"; only the new answer's buttons ask to ask again.
    """
    settings = bot_settings(emulator, engine.index_dir)
    app = build_application(engine, settings, poll_timeout=2)
    state: SharedState = app.bot_data["state"]
    caplog.set_level(logging.WARNING, "bot.telegram")
    async with httpx.AsyncClient(timeout=30) as http, running(app, settings):
        user = User(emulator, settings.telegram_bot_token.get_secret_value(), http)
        (before,) = await user.ask(ANSWERED)
        assert state._conn is not None
        conn = state._conn
        await state.call(conn.execute, "PRAGMA query_only = 1")  # every write fails from here on
        (after,) = await user.ask(ANSWERED)
        assert "Over 40 air strikes" in text_of(after) and "went wrong" not in text_of(after)
        await user.press(after, buttons(after)["Source"])
        (pressed,) = await user.wait_call("answerCallbackQuery")
        assert pressed["params"]["show_alert"] and "expired" in pressed["params"]["text"]
        await user.press(before, buttons(before)["Source"])  # remembered before: reading still works
        (source,) = await user.replies()
        assert "<b>Publisher:</b> TRT World" in text_of(source)
    for fallback in ("without the duplicate check", "flood limit", "without the shared budget", "ask again"):
        assert fallback in caplog.text, fallback
    assert "readonly" in caplog.text or "read-only" in caplog.text


@fleet_test
async def test_a_worker_port_held_by_another_process_stops_the_fleet_in_one_line(emulator: str, tmp_path: Path):
    """Worker 1's port is taken (and accepting) by someone else: the supervisor stops everything with exit 1.

    A worker says it is up by writing its pid (`serving_file`), so the other process's listening
    socket is not taken for the worker; restarting it would fail the same way for ever.
    """
    base = two_free_ports()
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", base + 1))
    squatter.listen()
    env = fleet_env(emulator, base, f"http://127.0.0.1:{free_port()}/hook", INDEX_DIR=str(tmp_path / "no-index"))
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "--workers", "2"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        squatter.close()
    assert result.returncode == 1, result.stderr
    assert "worker 1 exited with 1 before it ever listened; stopping all workers" in result.stderr
    assert "all bot workers stopped" in result.stderr
    assert not listening(base)
