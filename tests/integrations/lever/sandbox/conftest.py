"""Fixtures: a running sandbox per test, an authenticated session, and a local webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    # Rate limiting off and quick webhook retries; the tests that need them turn them on.
    with SandboxServer(port=0, rate_per_second=None, webhook_retry_base=0.02) as server:
        yield server


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    session = requests.Session()
    session.auth = (DEMO_API_KEY, "")
    yield Api(sandbox.api_url, session)
    session.close()


@dataclass
class Api:
    """requests against the sandbox's /v1 with the demo key."""

    base: str
    session: requests.Session

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=5, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.base + path, timeout=5, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.put(self.base + path, timeout=5, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.base + path, timeout=5, **kwargs)


@dataclass
class Receiver:
    """A local webhook endpoint that records every POST and answers from ``statuses``."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # popped per request; then 200
    event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with self.lock:
                    if len(self.received) >= count:
                        return list(self.received)
                self.event.wait(0.02)
                self.event.clear()
        finally:
            timer.cancel()
        with self.lock:
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(
                    {
                        "headers": dict(self.headers.items()),
                        "body": json.loads(body),
                        "path": self.path,
                    }
                )
                status = state.statuses.pop(0) if state.statuses else 200
            state.event.set()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/lever/test/"
    yield state
    server.shutdown()
    server.server_close()
