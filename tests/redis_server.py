# SPDX-License-Identifier: GPL-3.0-or-later
"""A throw-away Redis server on loopback, for the tests of the token cache's Redis backend.

This starts ``redis-server`` from the system (Debian package redis-server) as whoever runs the tests, on a free port,
with a password, in a directory of its own and without persistence, in its own process group, and guarantees that the
group is gone afterwards, like Provider and SshServer. Stopped, it can be started again on the same port and password,
as a server restarted in place, and empty.

Library use::

    with RedisServer(tmp_path) as server:
        server.url, server.password, server.client(), server.dump()
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from harness import READY_TIMEOUT, stop_process_group

HOST = "127.0.0.1"
SBIN = ("/usr/bin", "/usr/sbin", "/usr/local/bin")
DATABASES = 4


class RedisServerError(RuntimeError):
    """redis-server is missing, or did not start answering."""


def free_port() -> int:
    """A loopback port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def find_redis_server() -> str:
    """The path of redis-server, or a failure that names the package: a missing server fails the tests, never skips them."""
    found = shutil.which("redis-server", path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))
    if not found:
        raise RedisServerError("redis-server is missing: install the Debian package redis-server (tests/system-packages.sh does, as root)")
    return os.path.abspath(found)


class RedisServer:
    """redis-server on 127.0.0.1 at a free port with requirepass, no RDB or AOF files, stopped with its process group."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir).resolve()
        self.password = "redis-" + secrets.token_urlsafe(18)
        self.port = 0
        self.log_path = self.workdir / "redis.log"
        self.config_path = self.workdir / "redis.conf"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return "redis://%s:%d/0" % (HOST, self.port)

    @property
    def pid(self) -> int:
        """The server's process id (and process group), for a play that stops it."""
        assert self._proc is not None
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Write the config (the same port and password on a restart) and wait until the server answers PING."""
        if self._proc is not None:
            if self._proc.poll() is None:
                raise RedisServerError("redis-server already started")
            self._proc = None  # stopped by a test, as a play that stops the server does
        server = find_redis_server()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.config_path.write_text("\n".join([
            "bind %s" % HOST,
            "port %d" % self.port,
            "requirepass %s" % self.password,
            "dir %s" % self.workdir,
            'save ""',
            "appendonly no",
            "daemonize no",
            "protected-mode yes",
            "databases %d" % DATABASES,
            "rdbcompression no",
            "",
        ]))
        os.chmod(self.config_path, 0o600)
        with self.log_path.open("ab") as log:
            # The process outlives this block and is reaped by stop().
            # pylint: disable-next=consider-using-with
            self._proc = subprocess.Popen([server, str(self.config_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                self._fail("redis-server exited with status %s" % self._proc.returncode)
            try:
                if self.client().ping():
                    return
            except Exception:  # pylint: disable=broad-exception-caught  # not listening or loading yet
                pass
            if time.monotonic() > deadline:
                self._fail("no answer to PING on port %d within %.0f s" % (self.port, READY_TIMEOUT))
            time.sleep(0.05)

    def _fail(self, reason: str) -> NoReturn:
        try:
            log = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            log = ""
        raise RedisServerError("test redis-server failed to start: %s\n--- %s ---\n%s" % (reason, self.log_path, log))

    def stop(self) -> None:
        """Terminate the server's process group; safe to call twice. Nothing is saved: a restarted server is empty."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process_group(proc)

    def client(self, db: int = 0) -> Any:
        """A redis-py client of the test's own, to look at what the collection stored and to set the server up."""
        import redis  # pylint: disable=import-outside-toplevel

        return redis.Redis(host=HOST, port=self.port, db=db, password=self.password, socket_timeout=5)

    def dump(self) -> dict:
        """Every key of every database with its value: a string's bytes as GET gives them, anything else as DUMP serializes
        it (rdbcompression is off, so no value is hidden by compression)."""
        found = {}
        for db in range(DATABASES):
            client = self.client(db)
            for key in client.keys("*"):
                kind = client.type(key)
                found[(db, key)] = client.get(key) if kind == b"string" else client.dump(key)
        return found
