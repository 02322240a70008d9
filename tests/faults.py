# SPDX-License-Identifier: GPL-3.0-or-later
"""A token endpoint that misbehaves on purpose: each path is one way a provider, or a proxy before it, can fail.

The first part of the path names the fault; the rest is free, so each test (and each front end within one) has
its own counter for the faults that change with the attempt (500 then 200, 429 then 200):

    with FaultServer() as faults:                      # plain http on loopback
        faults.url("flaky500", "lookup")               # http://127.0.0.1:PORT/flaky500/lookup
    with FaultServer(tls.cert_path, tls.key_path):     # https, any certificate

"slow_handshake" is served on a port of its own, where no TLS handshake ever completes: its URL is https either way.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Callable, Dict, Optional, Tuple

TOKEN = {"access_token": "fault-token-0123456789", "token_type": "Bearer", "expires_in": 600}
HANG_SECONDS = 60.0
DRIP_INTERVAL = 0.3
# 64 MiB of zeros compress to about 64 KiB: what a gzip bomb is.
GZIP_BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _token(**changes: object) -> bytes:
    return _json({key: value for key, value in dict(TOKEN, **changes).items() if value is not None})


def _unsigned_jwt(claims: str) -> str:
    """A JWT whose payload is the given JSON text verbatim (so it can hold numbers JSON writers refuse)."""
    import base64  # pylint: disable=import-outside-toplevel

    def part(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    return "%s.%s.%s" % (part('{"alg":"HS256","typ":"JWT"}'), part(claims), part("signature"))


# status, headers, body for a request by the attempt number (1 for the first request to that path).
Answer = Tuple[int, Dict[str, str], bytes]
ANSWERS: Dict[str, Callable[[int], Answer]] = {
    "ok": lambda n: (200, {}, _token()),
    "flaky500": lambda n: (500, {}, b"internal error") if n == 1 else (200, {}, _token()),
    "flaky502": lambda n: (502, {"Content-Type": "text/html"}, b"<html>bad gateway</html>") if n == 1 else (200, {}, _token()),
    "ratelimited": lambda n: (429, {"Retry-After": "1"}, _json({"error": "rate_limited"})) if n == 1 else (200, {}, _token()),
    "retry_after_long": lambda n: (429, {"Retry-After": "3600"}, _json({"error": "rate_limited"})),
    "retry_after_bad_date": lambda n: (503, {"Retry-After": "Wed, 21 Oct 99999999 07:28:00 GMT"}, b"") if n == 1 else (200, {}, _token()),
    "unavailable": lambda n: (503, {}, b"down for maintenance"),
    "html": lambda n: (200, {"Content-Type": "text/html"}, b"<html><body>Please log in</body></html>"),
    "invalid_json": lambda n: (200, {}, b'{"access_token": "abc", '),
    "error_in_200": lambda n: (200, {}, _json({"error": "invalid_scope", "error_description": "scope not allowed"})),
    "no_access_token": lambda n: (200, {}, _token(access_token=None)),
    "no_token_type": lambda n: (200, {}, _token(token_type=None)),
    "dpop": lambda n: (200, {}, _token(token_type="DPoP")),
    "no_expires_in": lambda n: (200, {}, _token(expires_in=None)),
    "expires_negative": lambda n: (200, {}, _token(expires_in=-60)),
    "expires_string": lambda n: (200, {}, _token(expires_in="soon")),
    "expires_infinity": lambda n: (200, {}, _token(expires_in=float("inf"))),
    "expires_nan": lambda n: (200, {}, _token(expires_in=float("nan"))),
    "expires_huge": lambda n: (200, {}, _token(expires_in=1e300)),
    "exp_infinite": lambda n: (200, {}, _token(expires_in=None, access_token=_unsigned_jwt('{"sub":"x","exp":1e999}'))),
    "huge": lambda n: (200, {}, b'{"access_token": "' + b"x" * (2 * 1024 * 1024) + b'"}'),
    "gzip_bomb": lambda n: (200, {"Content-Encoding": "gzip"}, GZIP_BOMB),
    "bad_encoding": lambda n: (200, {"Content-Encoding": "gzip"}, _token()),
    "redirect": lambda n: (302, {"Location": "https://elsewhere.example/token"}, b""),
    "deep_json": lambda n: (200, {}, b'{"access_token": "abc", "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
}
# Faults that are not a scripted answer, handled by FaultServer itself.
SPECIAL = ("hang", "drip", "header_drip", "truncated", "slow_handshake")
# A TLS record header (handshake, TLS 1.2) announcing 16 KiB that never all come: the client waits for the rest.
ENDLESS_TLS_RECORD = bytes((0x16, 0x03, 0x03, 0x40, 0x00))


class FaultServer:
    """A threaded HTTP(S) server on 127.0.0.1 answering by ANSWERS and SPECIAL; counts the requests per path."""

    def __init__(self, cert_path: Optional[Path] = None, key_path: Optional[Path] = None) -> None:
        self.requests: Counter = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        scheme = "http"
        if cert_path is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert_path), str(key_path))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.base_url = "%s://127.0.0.1:%d" % (scheme, self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._handshakes = socket.create_server(("127.0.0.1", 0))
        self._handshakes.settimeout(0.05)
        self._handshake_thread = threading.Thread(target=self._serve_slow_handshakes, daemon=True)

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        self._handshake_thread.start()
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], traceback: Optional[TracebackType]) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self._handshake_thread.join()
        self._handshakes.close()

    def url(self, fault: str, tag: str = "") -> str:
        base = "https://127.0.0.1:%d" % self._handshakes.getsockname()[1] if fault == "slow_handshake" else self.base_url
        return "%s/%s/%s" % (base, fault, tag) if tag else "%s/%s" % (base, fault)

    def _serve_slow_handshakes(self) -> None:
        while not self._stop.is_set():
            try:
                connection = self._handshakes.accept()[0]
            except socket.timeout:
                continue
            self._count("/slow_handshake")
            threading.Thread(target=self._slow_handshake, args=(connection,), daemon=True).start()

    def _slow_handshake(self, connection: socket.socket) -> None:
        """Takes the ClientHello, then answers with a record that drips in, each byte well within any timeout."""
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(ENDLESS_TLS_RECORD)
                _drip(connection.sendall, b"\0" * 16384, self._stop)
            except OSError:
                return

    def _count(self, path: str) -> int:
        with self._lock:
            self.requests[path] += 1
            return self.requests[path]

    def _handler(self) -> type:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                attempt = server._count(self.path)  # pylint: disable=protected-access
                fault = self.path.split("/")[1]
                if fault == "hang":
                    server._stop.wait(HANG_SECONDS)  # pylint: disable=protected-access
                    return
                if fault == "header_drip":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    _drip(self.wfile.write, b"X-Drip: " + b"." * int(HANG_SECONDS / DRIP_INTERVAL) + b"\r\n", server._stop)  # pylint: disable=protected-access
                    self.close_connection = True
                    return
                if fault in ("drip", "truncated"):
                    body = _token()
                    self._head(200, {}, len(body))
                    if fault == "drip":
                        _drip(self.wfile.write, body, server._stop)  # pylint: disable=protected-access
                    else:
                        self.wfile.write(body[:len(body) // 3])
                    self.close_connection = True
                    return
                status, headers, body = ANSWERS.get(fault, lambda n: (404, {}, b"no such fault"))(attempt)
                self._head(status, headers, len(body))
                self.wfile.write(body)

            def _head(self, status: int, headers: Dict[str, str], length: int) -> None:
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
                self.send_header("Content-Length", str(length))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()

            do_GET = do_POST = _reply

            def log_message(self, *args: object) -> None:  # pylint: disable=arguments-differ
                pass

        return Handler


def _drip(write: Callable[[bytes], object], data: bytes, stop: threading.Event) -> None:
    """One byte at a time, each well within any timeout: only a deadline for the whole exchange stops it."""
    for byte in data:
        if stop.wait(DRIP_INTERVAL):
            return
        try:
            write(bytes((byte,)))
        except OSError:
            return


def refused_url() -> str:
    """A loopback URL where nothing listens: the provider is restarting."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return "http://127.0.0.1:%d/token" % port
