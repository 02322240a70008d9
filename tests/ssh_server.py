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
import socket
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from harness import _write_private
from loopback_server import HOST, LoopbackServer, find_program, free_port

# Where Debian's sshd, started as root, expects its privilege separation directory; systemd makes it on a real host.
PRIVSEP_DIR = Path("/run/sshd")


class SshServerError(RuntimeError):
    """sshd is missing, or did not start listening."""


def _write_key_pair(private_path: Path) -> str:
    """A new Ed25519 key in OpenSSH format at private_path; returns the public key line."""
    key = ed25519.Ed25519PrivateKey.generate()
    _write_private(private_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                   serialization.NoEncryption()))
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def find_sshd() -> str:
    return find_program("sshd", "openssh-server", SshServerError)


class SshServer(LoopbackServer):
    """sshd on 127.0.0.1 at a free port, accepting one generated client key for the user running the tests.

    A normal user's sshd can only log in that same user, which is the user the tests connect as anyway; as root,
    root logs in with the key. Leaving stops the whole process group (SIGTERM, then SIGKILL), also when the body raised.
    sshd gives each connection a session of its own, outside that group: clients must not leave a ControlPersist
    master behind, or its session lives on until the master exits.
    """

    NAME = "sshd"
    ERROR = SshServerError

    def __init__(self, workdir: Path) -> None:
        """Remember where keys, config and the log go."""
        super().__init__(workdir, "sshd.log")
        self.user = getpass.getuser()
        # A normal user's sshd cannot hand a terminal to the tty group and ends the session: clients must not ask (ssh -tt).
        self.tty = os.geteuid() == 0
        self.config_path = self.workdir / "sshd_config"
        self.client_key_path = self.workdir / "client_ed25519"
        self.known_hosts_path = self.workdir / "known_hosts"

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
        self.log_path.unlink(missing_ok=True)
        self._spawn([sshd, "-D", "-e", "-f", str(self.config_path)], self._greets, "SSH banner")

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

    def _greets(self) -> bool:
        with socket.create_connection((HOST, self.port), timeout=1.0) as connection:
            return connection.recv(8).startswith(b"SSH-")

    def client_options(self) -> list[str]:
        """ssh options for a client that trusts only this server's host key and offers only the generated key.

        -F /dev/null keeps the user's and the system's ssh_config out of the tests.
        """
        return ["-F", "/dev/null", "-o", "UserKnownHostsFile=%s" % self.known_hosts_path, "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"]
