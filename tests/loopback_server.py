# SPDX-License-Identifier: GPL-3.0-or-later
"""What the tests' system servers (sshd, redis-server) share: a free loopback port, a process group of their own with
a log, a bounded wait until they answer, a failure that carries their log, and a stop that leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Callable, List, NoReturn, Optional, Type

from harness import READY_TIMEOUT, stop_process_group

HOST = "127.0.0.1"
# Servers live in sbin, which a normal user's PATH often lacks.
SBIN = ("/usr/sbin", "/usr/local/sbin")


def free_port() -> int:
    """A loopback port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def find_program(name: str, package: str, error: Type[Exception]) -> str:
    """The absolute path of a server (sshd refuses to re-execute itself otherwise), or a failure that names the Debian
    package: a missing server fails the tests that need it, never skips them."""
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))
    if not found:
        raise error("%s is missing: install the Debian package %s (tests/system-packages.sh does, as root)" % (name, package))
    return os.path.abspath(found)


class LoopbackServer:
    """A server from the system on HOST; leaving stops its whole process group (SIGTERM, then SIGKILL), also when the
    body raised. Subclasses start it with _spawn and _wait_ready, and name it and their error."""

    NAME = "server"
    ERROR: Type[Exception] = RuntimeError

    def __init__(self, workdir: Path, log_name: str) -> None:
        self.workdir = Path(workdir).resolve()
        self.log_path = self.workdir / log_name
        self.port = 0
        self._proc: Optional[subprocess.Popen[bytes]] = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], traceback: Optional[TracebackType]) -> None:
        """Always stop the server; never swallow the body's exception."""
        self.stop()

    def start(self) -> None:
        raise NotImplementedError

    def _spawn(self, argv: List[str], ready: Callable[[], bool], what: str) -> None:
        """Start argv in a session of its own, logging to log_path, and wait until ready() says it answers."""
        with self.log_path.open("ab") as log:
            # The process outlives this block and is reaped by stop().
            # pylint: disable-next=consider-using-with
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        try:
            self._wait_ready(ready, what)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                self._fail("%s exited with status %s" % (self.NAME, self._proc.returncode))
            try:
                if ready():
                    return
            except Exception:  # pylint: disable=broad-exception-caught  # not listening, or not answering yet
                pass
            if time.monotonic() > deadline:
                self._fail("no %s on port %d within %.0f s" % (what, self.port, READY_TIMEOUT))
            time.sleep(0.05)

    def _fail(self, reason: str) -> NoReturn:
        """Raise with the server's own log, which says what went wrong."""
        try:
            log = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            log = ""
        raise self.ERROR("test %s failed to start: %s\n--- %s ---\n%s" % (self.NAME, reason, self.log_path, log))

    def stop(self) -> None:
        """Terminate the server's process group; safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process_group(proc)
