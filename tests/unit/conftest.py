# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake token endpoint on loopback: real sockets and real HTTP, scripted answers."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, List, Optional, Tuple
from urllib.parse import parse_qsl

import pytest


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Held until this many requests for the path wait at once (or TOGETHER_WAIT passed): proves requests were concurrent by count, not by time.
    together: Optional[threading.Barrier] = None


TOGETHER_WAIT = 10.0


@dataclass
class Seen:
    method: str
    path: str
    headers: Dict[str, str]
    form: List[Tuple[str, str]]


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that gave up (the timeout tests) is expected, not worth a traceback."""


class FakeProvider:
    """Answers each path with a scripted Answer and records every request it gets."""

    def __init__(self) -> None:
        self.answers: Dict[str, Answer] = {}
        self.requests: List[Seen] = []
        handler = self._handler()
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.base_url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answer(self, path: str, status: int = 200, json_body: Optional[object] = None, together: int = 0, **kwargs) -> None:
        if json_body is not None:
            kwargs["body"] = json.dumps(json_body).encode()
        self.answers[path] = Answer(status=status, together=threading.Barrier(together) if together else None, **kwargs)

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                provider.requests.append(Seen(self.command, self.path, dict(self.headers), parse_qsl(body, keep_blank_values=True)))
                answer = provider.answers.get(self.path, Answer(status=404, body=b"not here", content_type="text/plain"))
                if answer.together:
                    try:
                        answer.together.wait(TOGETHER_WAIT)
                    except threading.BrokenBarrierError:
                        pass
                time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_CONNECT = _reply

            def log_message(self, *args) -> None:  # pylint: disable=arguments-differ
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Each test gets its own home, so the default token cache never outlives it, and no outside configuration."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in [name for name in os.environ if name.startswith("ANSIBLE_OAUTH2_")]:
        monkeypatch.delenv(name)
    return home


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    yield fake
    fake.close()
