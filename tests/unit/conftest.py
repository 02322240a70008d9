# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake token endpoint on loopback: real sockets and real HTTP, scripted answers."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qsl

import jwt
import pytest


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    # A list of values sends the header once for each, as servers do with WWW-Authenticate.
    headers: Dict[str, Union[str, List[str]]] = field(default_factory=dict)
    delay: float = 0.0
    # Held until this many requests for the path wait at once (or TOGETHER_WAIT passed): proves requests were concurrent by count, not by time.
    together: Optional[threading.Barrier] = None
    # Makes the body from the request, for a server that echoes what it got.
    reply: Optional[Callable[["Seen"], bytes]] = None


TOGETHER_WAIT = 10.0


@dataclass
class Seen:
    method: str
    path: str
    headers: Dict[str, str]
    form: List[Tuple[str, str]]
    body: str = ""


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that gave up (the timeout tests) is expected, not worth a traceback."""


class FakeProvider:
    """Answers each path with a scripted Answer and records every request it gets."""

    def __init__(self) -> None:
        self.answers: Dict[str, Answer] = {}
        self.queued: Dict[str, List[Answer]] = {}
        self.requests: List[Seen] = []
        handler = self._handler()
        self.server = QuietServer(("127.0.0.1", 0), handler)
        self.base_url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answer(self, path: str, status: int = 200, json_body: Optional[object] = None, together: int = 0, once: bool = False,
               **kwargs) -> None:
        """The answer to every request for path; once=True queues it for the next request only, ahead of the standing one."""
        if json_body is not None:
            kwargs["body"] = json.dumps(json_body).encode()
        answer = Answer(status=status, together=threading.Barrier(together) if together else None, **kwargs)
        if once:
            self.queued.setdefault(path, []).append(answer)
        else:
            self.answers[path] = answer

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                seen = Seen(self.command, self.path, dict(self.headers), parse_qsl(body, keep_blank_values=True), body)
                provider.requests.append(seen)
                queued = provider.queued.get(self.path)
                answer = queued.pop(0) if queued else provider.answers.get(self.path, Answer(status=404, body=b"not here", content_type="text/plain"))
                content = answer.reply(seen) if answer.reply else answer.body
                if answer.together:
                    try:
                        answer.together.wait(TOGETHER_WAIT)
                    except threading.BrokenBarrierError:
                        pass
                time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(content)))
                for name, values in answer.headers.items():
                    for value in values if isinstance(values, list) else [values]:
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_CONNECT = _reply

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


class DpopServer:
    """What a DPoP server computes from a proof (RFC 9449 section 4.3), written here apart from the collection's code."""

    @staticmethod
    def checked(proof: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """The header and claims of a proof whose signature verifies with the public key in its own header."""
        header = jwt.get_unverified_header(proof)
        return header, jwt.decode(proof, jwt.PyJWK(header["jwk"]).key, algorithms=[header["alg"]])

    @staticmethod
    def hash(text: str) -> str:
        """base64url of SHA-256 without padding: ath of a token, and a thumbprint of its JWK text."""
        return base64.urlsafe_b64encode(hashlib.sha256(text.encode("ascii")).digest()).rstrip(b"=").decode("ascii")

    @classmethod
    def thumbprint(cls, jwk: Mapping[str, str]) -> str:
        """RFC 7638, the members written out in the order section 3.2 lists them rather than sorted, so the sorting is checked too."""
        if jwk["kty"] == "RSA":
            return cls.hash('{"e":"%s","kty":"RSA","n":"%s"}' % (jwk["e"], jwk["n"]))
        if jwk["kty"] == "EC":
            return cls.hash('{"crv":"%s","kty":"EC","x":"%s","y":"%s"}' % (jwk["crv"], jwk["x"], jwk["y"]))
        return cls.hash('{"crv":"%s","kty":"OKP","x":"%s"}' % (jwk["crv"], jwk["x"]))


@pytest.fixture
def dpop_server():
    return DpopServer
