# SPDX-License-Identifier: GPL-3.0-or-later
"""Real parts only: the collection as ansible-galaxy builds and installs it, a real OpenID provider
over HTTPS with a CA made for this run, real ansible-playbook processes, and a real sshd where a test needs one."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence
from urllib.parse import quote_plus

import pytest

from harness import TIMEZONES, Provider, install_collection
from redis_server import RedisServer
from ssh_server import SshServer

BIN = Path(sys.executable).parent
JWT_PATTERN = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
# The one Ansible setting the version matrix of make test varies; every other ANSIBLE_* of the caller is dropped.
PASSED_THROUGH = ("ANSIBLE_INJECT_FACT_VARS",)
# Set by make for the newest ansible-core line: a deprecation there is one the collection or its documented usage causes.
FAIL_ON_DEPRECATION = os.environ.get("OAUTH2_TEST_FAIL_ON_DEPRECATION") == "1"


@pytest.fixture(scope="session")
def provider(tmp_path_factory) -> Iterator[Provider]:
    with Provider(tmp_path_factory.mktemp("provider")) as running:
        yield running


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory) -> Iterator[SshServer]:
    """sshd on loopback for the user running the tests, for a module's tests that need a real ssh connection."""
    with SshServer(tmp_path_factory.mktemp("sshd")) as running:
        yield running


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """redis-server on loopback with a password, for the token cache shared by controllers; empty for each module."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory) -> Path:
    """The collection built into a tarball and installed from it, as a user gets it."""
    return install_collection(tmp_path_factory.mktemp("collection"), BIN)


@dataclass
class Run:
    returncode: int
    output: str
    log: str  # this run's own log file, kept on disk beside the others

    @property
    def everything(self) -> str:
        return self.output + self.log

    def tokens(self) -> set:
        """Every JWT that shows anywhere in the output or the log."""
        return set(JWT_PATTERN.findall(self.everything))


class Ansible:
    """Runs playbooks the way a user does, in a directory of their own, with a vault password file."""

    def __init__(self, directory: Path, collections: Path, provider: Provider, timezone: str = "UTC") -> None:
        self.directory = directory
        self.provider = provider
        self.vault_password = "vault-" + secrets.token_urlsafe(16)
        self.vault_password_file = directory / "vault-pass.txt"
        self.vault_password_file.write_text(self.vault_password + "\n")
        self.runs = 0
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_") or key in PASSED_THROUGH}
        self.env.update(
            ANSIBLE_COLLECTIONS_PATH=str(collections),
            ANSIBLE_LOG_PATH=str(directory / "ansible.log"),  # playbook runs log to one file each, see playbook_fqcn
            HOME=str(directory),  # a token cache (under ~) of this test's own
            ANSIBLE_HOME=str(directory / ".ansible"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            TZ=timezone,
        )
        (directory / "provider.json").write_text(json.dumps({
            "issuer": provider.issuer, "token_url": provider.token_url, "api_url": provider.api_url,
            "ca_path": str(provider.ca_path), **{name + "_client_id": c["client_id"] for name, c in provider.clients.items()},
            "client_cert_path": str(provider.tls.client_cert_path), "client_key_path": str(provider.tls.client_key_path),
        }))

    def write_inventory(self) -> None:
        """Four local hosts in group app, the shape of a small fleet."""
        self.write("inventory.ini", "[app]\n" + "".join("host%d ansible_connection=local\n" % n for n in range(1, 5)))

    def write_vaulted_variables(self, client: str = "basic") -> None:
        """vault_creds.yml, group_vars style: oauth2_client_id, and oauth2_client_secret inline-vaulted as users keep it."""
        entry = self.provider.clients[client]
        self.write("vault_creds.yml", "oauth2_client_id: %s\n%s" % (
            entry["client_id"], self.encrypt_string(entry["client_secret"], "oauth2_client_secret")))

    def secret(self, client: str) -> str:
        return self.provider.clients[client]["client_secret"]

    def write(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def vault(self, *args: str) -> str:
        result = subprocess.run([str(BIN / "ansible-vault"), *args, "--vault-password-file", str(self.vault_password_file)],
                                cwd=self.directory, env=self.env, check=True, capture_output=True, text=True)
        return result.stdout

    def encrypt_string(self, value: str, name: str) -> str:
        return self.vault("encrypt_string", value, "--name", name)

    def playbook(self, text: str, *args: str, env: Optional[Dict[str, str]] = None, vault: bool = True) -> Run:
        return self.playbook_fqcn(str(self.write("playbook.yml", text)), *args, env=env, vault=vault)

    def playbook_fqcn(self, playbook: str, *args: str, env: Optional[Dict[str, str]] = None, vault: bool = True) -> Run:
        """Run a playbook file, or one of the collection's by its FQCN. Each run logs to a file of its own, which is kept:
        what a run logged stays on disk for whoever searches the directory afterwards, as a user's log would."""
        self.runs += 1
        log_path = self.directory / ("ansible-run-%02d.log" % self.runs)
        result = subprocess.run(self._playbook_command(playbook, args, vault), cwd=self.directory,
                                env=dict(self.env, ANSIBLE_LOG_PATH=str(log_path), **(env or {})),
                                capture_output=True, text=True, timeout=300, check=False)
        log = log_path.read_text() if log_path.exists() else ""
        no_deprecations(result.stdout + result.stderr)
        return Run(result.returncode, result.stdout + result.stderr, log)

    def start_playbook(self, text: str, output: Path, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        """A playbook run left running in a session of its own, for a test that signals it as a terminal or a CI runner would.
        Its output goes to a file: a pipe would stay open as long as any process the run left behind."""
        with output.open("w") as handle:
            return subprocess.Popen(self._playbook_command(str(self.write("playbook.yml", text)), (), True), cwd=self.directory,
                                    env=dict(self.env, **(env or {})), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)

    def _playbook_command(self, playbook: str, args: Sequence[str], vault: bool) -> list:
        command = [str(BIN / "ansible-playbook"), playbook, "-e", "@provider.json", *args]
        return command + ["--vault-password-file", str(self.vault_password_file)] if vault else command

    def client_secrets(self) -> list:
        return [c["client_secret"] for c in self.provider.clients.values() if "client_secret" in c]

    def private_key_lines(self) -> list:
        """The base64 lines of every test client's private key: any of them in the output means a key leaked."""
        paths = [path for name, path in self.provider.client_keys.items() if name != "jwks"] + [self.provider.tls.client_key_path]
        return [line for path in paths for line in path.read_text().splitlines()[1:-1] if len(line) >= 40]

    def assert_no_secrets(self, run: Run, *extra: str) -> None:
        """No client secret or private key of any test client, no vault password, and nothing extra shows anywhere."""
        client_secrets = self.client_secrets()
        for value in [self.vault_password, *extra, *client_secrets, *(quote_plus(s) for s in client_secrets), *self.private_key_lines()]:
            assert value not in run.everything, "a secret leaked into the output or the log"

    def command(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=self.directory, env=dict(self.env, **(env or {})),
                                capture_output=True, text=True, check=False)
        no_deprecations(result.stdout + result.stderr)
        return result


def no_deprecations(output: str) -> None:
    """Fail on a [DEPRECATION WARNING] where make asks for it; only the warning lines are shown, never the whole output."""
    if FAIL_ON_DEPRECATION and "[DEPRECATION WARNING]" in output:
        lines = output.splitlines()
        shown = [line for n, line in enumerate(lines) if "[DEPRECATION WARNING]" in "".join(lines[max(0, n - 2):n + 1])]
        pytest.fail("ansible-core reported a deprecation:\n" + "\n".join(shown), pytrace=False)


@pytest.fixture
def ansible(request, tmp_path, collections_path, provider) -> Ansible:
    """A user's directory; each test runs in one of TIMEZONES (a test parametrized with timezone picks its own)."""
    provider.reset()
    timezone = request.node.callspec.params.get("timezone") if hasattr(request.node, "callspec") else None
    return Ansible(tmp_path, collections_path, provider, timezone or TIMEZONES[zlib.crc32(request.node.name.encode()) % len(TIMEZONES)])


@pytest.fixture(scope="session")
def make_controller(collections_path, provider):
    """Another controller, as another machine would be: Ansible in a directory of its own, with its own home,
    ANSIBLE_HOME, token cache and vault password."""
    def make(path: Path) -> Ansible:
        path.mkdir(parents=True)
        return Ansible(path, collections_path, provider)
    return make
