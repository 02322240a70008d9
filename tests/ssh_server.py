# SPDX-License-Identifier: GPL-3.0-or-later
"""A throw-away OpenSSH server on loopback, for tests that run the module over a real ssh connection.

The module's raw output carries the token, and only a real connection plugin shows what a user sees at -vvv.
This starts ``sshd`` from the system (Debian package openssh-server) as whoever runs the tests, with keys made
for the run, in its own process group, and guarantees that the group is gone afterwards, like Provider.

Library use::

    with SshServer(tmp_path) as server:
        server.port, server.user, server.client_key_path, server.client_options()
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import NoReturn

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from harness import READY_TIMEOUT, _write_private, stop_process_group

HOST = "127.0.0.1"
# sshd lives in sbin, which a normal user's PATH often lacks.
SBIN = ("/usr/sbin", "/usr/local/sbin")
# Where Debian's sshd, started as root, expects its privilege separation directory; systemd makes it on a real host.
PRIVSEP_DIR = Path("/run/sshd")


class SshServerError(RuntimeError):
    """sshd is missing, or did not start listening."""


def free_port() -> int:
    """A loopback port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _write_key_pair(private_path: Path) -> str:
    """A new Ed25519 key in OpenSSH format at private_path; returns the public key line."""
    key = ed25519.Ed25519PrivateKey.generate()
    _write_private(private_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                   serialization.NoEncryption()))
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def find_sshd() -> str:
    """The absolute path of sshd (it refuses to re-execute itself otherwise), or the package that provides it."""
    found = shutil.which("sshd", path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))
    if not found:
        raise SshServerError("sshd is missing: install the Debian package openssh-server (tests/system-packages.sh does, as root)")
    return os.path.abspath(found)


class SshServer:  # pylint: disable=too-many-instance-attributes
    """sshd on 127.0.0.1 at a free port, accepting one generated client key for the user running the tests.

    A normal user's sshd can only log in that same user, which is the user the tests connect as anyway; as root,
    root logs in with the key. Leaving stops the whole process group (SIGTERM, then SIGKILL), also when the body raised.
    sshd gives each connection a session of its own, outside that group: clients must not leave a ControlPersist
    master behind, or its session lives on until the master exits.
    """

    def __init__(self, workdir: Path) -> None:
        """Remember where keys, config and the log go."""
        self.workdir = Path(workdir).resolve()
        self.user = getpass.getuser()
        # A normal user's sshd cannot hand a terminal to the tty group and ends the session: clients must not ask (ssh -tt).
        self.tty = os.geteuid() == 0
        self.port = 0
        self.config_path = self.workdir / "sshd_config"
        self.log_path = self.workdir / "sshd.log"
        self.client_key_path = self.workdir / "client_ed25519"
        self.known_hosts_path = self.workdir / "known_hosts"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SshServer:
        """Start sshd; the caller gets a server that accepts connections."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Always stop sshd; never swallow the body's exception."""
        self.stop()

    def start(self) -> None:
        """Write keys and config, spawn ``sshd -D -e`` and wait until its port answers with an SSH banner."""
        if self._proc is not None:
            raise SshServerError("sshd already started")
        sshd = find_sshd()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._write_config()
        if os.geteuid() == 0:
            PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        with self.log_path.open("wb") as log:
            # The process outlives this block and is reaped by stop().
            # pylint: disable-next=consider-using-with
            self._proc = subprocess.Popen(
                [sshd, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _write_config(self) -> None:
        host_key_path = self.workdir / "host_ed25519"
        host_key = _write_key_pair(host_key_path)
        authorized_keys = self.workdir / "authorized_keys"
        authorized_keys.write_text(_write_key_pair(self.client_key_path) + "\n")
        self.known_hosts_path.write_text("[%s]:%d %s\n" % (HOST, self.port, host_key))
        self.config_path.write_text("\n".join([
            "ListenAddress %s:%d" % (HOST, self.port),
            "HostKey %s" % host_key_path,
            "PidFile %s" % (self.workdir / "sshd.pid"),
            "AuthorizedKeysFile %s" % authorized_keys,
            "AllowUsers %s" % self.user,
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # The files are in a pytest temporary directory, whose parents sshd would otherwise judge.
            "StrictModes no",
            "PermitTTY %s" % ("yes" if self.tty else "no"),
            "PrintMotd no",
            "PrintLastLog no",
            "Subsystem sftp internal-sftp",
            "",
        ]))

    def _wait_ready(self) -> None:
        """Connect until sshd greets, or fail with its log."""
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                self._fail("sshd exited with status %s" % self._proc.returncode)
            try:
                with socket.create_connection((HOST, self.port), timeout=1.0) as connection:
                    if connection.recv(8).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self._fail("no SSH banner on port %d within %.0f s" % (self.port, READY_TIMEOUT))
            time.sleep(0.05)

    def _fail(self, reason: str) -> NoReturn:
        """Raise with sshd's own log, which says what went wrong."""
        try:
            log = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            log = ""
        raise SshServerError("test sshd failed to start: %s\n--- %s ---\n%s" % (reason, self.log_path, log))

    def stop(self) -> None:
        """Terminate sshd's process group; safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process_group(proc)

    def client_options(self) -> list[str]:
        """ssh options for a client that trusts only this server's host key and offers only the generated key.

        -F /dev/null keeps the user's and the system's ssh_config out of the tests.
        """
        return ["-F", "/dev/null", "-o", "UserKnownHostsFile=%s" % self.known_hosts_path, "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"]
