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
from pathlib import Path
from typing import Any

from loopback_server import HOST, LoopbackServer, find_program, free_port

DATABASES = 4


class RedisServerError(RuntimeError):
    """redis-server is missing, or did not start answering."""


def find_redis_server() -> str:
    return find_program("redis-server", "redis-server", RedisServerError)


class RedisServer(LoopbackServer):
    """redis-server on 127.0.0.1 at a free port with requirepass, no RDB or AOF files, stopped with its process group.
    Nothing is saved: a server started again after stop() is empty."""

    NAME = "redis-server"
    ERROR = RedisServerError

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, "redis.log")
        self.password = "redis-" + secrets.token_urlsafe(18)
        self.config_path = self.workdir / "redis.conf"

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
        self._spawn([server, str(self.config_path)], lambda: self.client().ping(), "answer to PING")

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
