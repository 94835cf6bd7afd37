"""A round-robin reverse proxy for the multi-worker tests: what nginx's `upstream` does, in 60 lines.

No nginx or Caddy installs from the package registries these tests may use, so this stands in for
the reverse proxy of docs/telegram.md ("Several workers"), as the emulator stands in for Telegram:
each webhook call goes to the next worker in turn; a worker that refuses the connection is skipped
for the next one (nginx's `proxy_next_upstream error`). It also records which worker got which
update, so that a test can tell that both workers served and that no update went twice, and it
can be told which worker gets the next call (`pin`), so that a test can send a button press to the
worker that did not send the message.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


class RoundRobinProxy:
    """Listens on 127.0.0.1:`port` and spreads POSTs over `upstreams` (ports on 127.0.0.1)."""

    def __init__(self, port: int, upstreams: list[int]) -> None:
        self.upstreams = upstreams
        self.routed: list[tuple[int | None, int]] = []  # (update_id, worker index), in order
        self._turn = itertools.cycle(range(len(upstreams)))
        self._pinned: int | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: self.headers[k] for k in FORWARDED if self.headers.get(k)}
                status, data = proxy._forward(self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def pin(self, worker: int) -> None:
        """Send the next call to `worker` (then carry on in turn)."""
        self._pinned = worker

    def _forward(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        with self._lock:
            first = self._pinned if self._pinned is not None else next(self._turn)
            self._pinned = None
        try:
            update_id = json.loads(body).get("update_id")
        except ValueError:
            update_id = None
        for step in range(len(self.upstreams)):
            worker = (first + step) % len(self.upstreams)
            conn = http.client.HTTPConnection("127.0.0.1", self.upstreams[worker], timeout=30)
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                data = response.read()
            except ConnectionRefusedError:
                continue  # that worker is down: the next one (proxy_next_upstream error)
            finally:
                conn.close()
            with self._lock:
                self.routed.append((update_id, worker))
            return response.status, data
        return 502, b"no worker is up"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
