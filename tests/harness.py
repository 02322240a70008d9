#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the local test identity provider (tests/provider/server.mjs).

Integration tests, the demo and the benchmark need a real OAuth 2.0
client-credentials token endpoint and a protected API that checks the
JWTs it issues.  This module creates throw-away TLS material, starts the
Node.js provider in its own process group, and guarantees that the group
is gone afterwards, whatever happened in between.

Library use::

    with Provider(tmp_path) as idp:
        idp.token_url, idp.api_url, idp.ca_path, idp.clients["basic"]

Command line use::

    python tests/harness.py run --workdir DIR -- CMD [ARGS...]
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import select
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Sequence

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TESTS_DIR = Path(__file__).resolve().parent
PROVIDER_DIR = TESTS_DIR / "provider"
CLIENTS_FILE = PROVIDER_DIR / "clients.json"
READY_TIMEOUT = 20.0
STOP_GRACE = 5.0
# The subject of the mutual-TLS test client's certificate, as clients.json registers it.
MTLS_CLIENT_NAME = "cc-mtls-client"
# Controllers run anywhere: UTC (as CI does), west and east of it, and at a half-hour offset.
TIMEZONES = ("UTC", "America/New_York", "Asia/Tokyo", "Asia/Kolkata")
HTTP_TIMEOUT = 10.0


class ProviderError(RuntimeError):
    """The provider could not be started or did not answer as expected."""


@dataclass(frozen=True)
class TlsMaterial:
    """PEM files for one provider run: a private CA, a server cert, and a cert of the same CA for a host name no test uses."""

    ca_path: Path
    cert_path: Path
    key_path: Path
    wrong_host_cert_path: Path
    wrong_host_key_path: Path
    client_cert_path: Path
    client_key_path: Path


def _write_private(path: Path, data: bytes) -> None:
    """Write a key so it is never readable by others, even briefly."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_usage(**allowed: bool) -> x509.KeyUsage:
    """A KeyUsage extension that allows only what is named."""
    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    flags.update(allowed)
    return x509.KeyUsage(**flags)


def _one_day_certificate(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    """What the CA and the server certificate share: names, key, serial, and a validity of one day."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _write_server_certificate(
    ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, ca_ski: x509.SubjectKeyIdentifier,
    names: Sequence[x509.GeneralName], cert_path: Path, key_path: Path,
) -> None:
    """A TLS server certificate of the CA for the given names, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    first = names[0].value
    cert = (
        _one_day_certificate(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(first))]),
            ca_name,
            key.public_key(),
        )
        .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        .add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        )
        .add_extension(
            _key_usage(digital_signature=True),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca_ski
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    cert_path.write_bytes(cert.public_bytes(pem))
    _write_private(
        key_path,
        key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def make_tls_material(directory: Path) -> TlsMaterial:
    """Create a fresh CA, a 127.0.0.1/localhost server certificate, and one for wrong.example.

    A private CA (rather than a self-signed leaf) lets clients verify TLS
    the normal way, by pointing them at ``ca_path``.  All are valid for
    one day; keys are EC P-256 and only the server keys are written.
    """
    directory.mkdir(parents=True, exist_ok=True)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    # A name of its own: given a certificate of another CA of the same name, OpenSSL checks it against this CA's key,
    # and Node drops the connection on that error instead of answering as for any untrusted client certificate.
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "oauth2 test CA " + os.urandom(4).hex())]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        _one_day_certificate(ca_name, ca_name, ca_key.public_key())
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        )
        .add_extension(
            _key_usage(key_cert_sign=True, crl_sign=True),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    material = TlsMaterial(
        ca_path=directory / "ca.pem",
        cert_path=directory / "server.pem",
        key_path=directory / "server-key.pem",
        wrong_host_cert_path=directory / "wrong-host.pem",
        wrong_host_key_path=directory / "wrong-host-key.pem",
        client_cert_path=directory / "client.pem",
        client_key_path=directory / "client-key.pem",
    )
    material.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_server_certificate(
        ca_key, ca_name, ca_ski,
        [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")],
        material.cert_path, material.key_path,
    )
    _write_server_certificate(
        ca_key, ca_name, ca_ski, [x509.DNSName("wrong.example")],
        material.wrong_host_cert_path, material.wrong_host_key_path,
    )
    _write_client_certificate(ca_key, ca_name, material.client_cert_path, material.client_key_path)
    return material


def _write_client_certificate(ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, cert_path: Path, key_path: Path) -> None:
    """The mutual-TLS test client's certificate of the CA (client authentication only), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _one_day_certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MTLS_CLIENT_NAME)]), ca_name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def make_client_keys(directory: Path) -> dict[str, Path]:
    """Private keys of the private_key_jwt test client, one of each kind, as PEM files; their public JWKS beside them.

    The RSA key has no pinned alg, so the provider accepts RS256 and PS256 assertions alike.
    """
    keys = {
        "rsa": (rsa.generate_private_key(public_exponent=65537, key_size=2048), jwt.algorithms.RSAAlgorithm),
        "ec": (ec.generate_private_key(ec.SECP256R1()), jwt.algorithms.ECAlgorithm),
        "ed25519": (ed25519.Ed25519PrivateKey.generate(), jwt.algorithms.OKPAlgorithm),
    }
    paths, public = {}, []
    for kid, (key, algorithm) in keys.items():
        paths[kid] = directory / ("client-%s.pem" % kid)
        _write_private(paths[kid], key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        public.append(dict(json.loads(algorithm.to_jwk(key.public_key())), kid=kid, use="sig"))
    paths["jwks"] = directory / "client-jwks.json"
    paths["jwks"].write_text(json.dumps({"keys": public}))
    return paths


def check_node_modules() -> None:
    """Fail fast with the fix, rather than with a Node import error."""
    if not (PROVIDER_DIR / "node_modules").is_dir():
        raise ProviderError(
            f"{PROVIDER_DIR / 'node_modules'} is missing; "
            "run: npm ci --prefix tests/provider"
        )


def load_clients() -> dict[str, dict[str, Any]]:
    """Return the test clients keyed by role (the same file the IdP reads)."""
    with CLIENTS_FILE.open(encoding="utf-8") as handle:
        clients: dict[str, dict[str, Any]] = json.load(handle)
    return clients


class Provider:  # pylint: disable=too-many-instance-attributes
    """The Node.js identity provider and protected API, as a context manager.

    Entering starts the server and waits for its ready line; leaving stops
    its whole process group (SIGTERM, then SIGKILL after a grace period),
    also when the body raised.
    """

    def __init__(
        self, workdir: Path, oidc_port: int = 0, api_port: int = 0
    ) -> None:
        """Remember where TLS material and the log go; 0 = any free port."""
        self.workdir = Path(workdir).resolve()
        self._ports = (oidc_port, api_port)
        self.log_path = self.workdir / "provider.log"
        self.clients_path = CLIENTS_FILE
        self.clients: dict[str, dict[str, Any]] = load_clients()
        self.tls: TlsMaterial | None = None
        self.client_keys: dict[str, Path] = {}
        self.issuer = ""
        self.token_url = ""
        self.api_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._opener: urllib.request.OpenerDirector | None = None

    # -- lifecycle -------------------------------------------------------

    def __enter__(self) -> Provider:
        """Start the provider; the caller gets a ready-to-use instance."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Always stop the provider; never swallow the body's exception."""
        self.stop()

    def start(self) -> None:
        """Create TLS material, spawn ``node server.mjs`` and wait for it.

        Started again after stop(), it keeps its ports, CA, certificates and client keys, as a provider restarted in
        place does: clients configured for it need no change. Its signing keys are new, as after a real key rotation.
        """
        if self._proc is not None:
            raise ProviderError("provider already started")
        check_node_modules()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.tls is None:
            self.tls = make_tls_material(self.workdir)
            self.client_keys = make_client_keys(self.workdir)
        env = dict(os.environ)
        env.update({
            "TLS_CERT": str(self.tls.cert_path),
            "TLS_KEY": str(self.tls.key_path),
            "TLS_CA": str(self.tls.ca_path),
            "CLIENT_JWKS": str(self.client_keys["jwks"]),
            "OIDC_PORT": str(self._ports[0]),
            "API_PORT": str(self._ports[1]),
        })
        with self.log_path.open("wb") as log:
            # The child keeps its own copy of the log descriptor; the
            # process outlives this block and is reaped by stop().
            # pylint: disable-next=consider-using-with
            self._proc = subprocess.Popen(
                ["node", "server.mjs"],
                cwd=PROVIDER_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        try:
            ready = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.issuer = ready["issuer"]
        self.token_url = ready["token_url"]
        self.api_url = ready["api_url"]
        self._ports = (urllib.parse.urlsplit(self.issuer).port or 0, urllib.parse.urlsplit(self.api_url).port or 0)
        context = ssl.create_default_context(cafile=str(self.tls.ca_path))
        # No proxies: the provider is on loopback, whatever the environment.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=context),
        )

    def _wait_ready(self) -> dict[str, str]:
        """Read the single JSON ready line, or fail with the provider log."""
        assert self._proc is not None and self._proc.stdout is not None
        stdout = self._proc.stdout
        deadline = time.monotonic() + READY_TIMEOUT
        buffer = b""
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"no ready line within {READY_TIMEOUT:.0f} s")
            readable = select.select([stdout], [], [], remaining)[0]
            if not readable:
                continue
            chunk = os.read(stdout.fileno(), 4096)
            if not chunk:
                self._proc.wait(timeout=STOP_GRACE)
                self._fail(
                    f"provider exited with status {self._proc.returncode}"
                )
            buffer += chunk
        line = buffer.split(b"\n", 1)[0]
        try:
            ready: dict[str, str] = json.loads(line)
            if not all(k in ready for k in ("issuer", "token_url", "api_url")):
                raise ValueError("missing keys")
        except ValueError:
            self._fail(f"unexpected ready line: {line!r}")
        return ready

    def _fail(self, reason: str) -> NoReturn:
        """Raise with the provider's stderr, which says what went wrong."""
        try:
            log = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            log = ""
        raise ProviderError(
            f"test provider failed to start: {reason}\n"
            f"--- {self.log_path} ---\n{log}"
        )

    def stop(self) -> None:
        """Terminate the provider's process group; safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_process_group(proc)
        if proc.stdout is not None:
            proc.stdout.close()

    @property
    def running(self) -> bool:
        """Whether the provider process is still alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id (and process group id) of the provider, if started."""
        return None if self._proc is None else self._proc.pid

    # -- convenience -----------------------------------------------------

    @property
    def ca_path(self) -> Path:
        """CA bundle that clients must trust to reach the provider."""
        if self.tls is None:
            raise ProviderError("provider not started")
        return self.tls.ca_path

    @property
    def stats_url(self) -> str:
        """Test-only endpoint counting token requests."""
        return f"{self.issuer}/_test/stats"

    @property
    def api_base(self) -> str:
        """Origin of the protected API (its test endpoints live here)."""
        return self.api_url.rsplit("/", 1)[0]

    def _call(self, method: str, url: str) -> dict[str, Any]:
        """Do one JSON request trusting only the run's private CA."""
        if self._opener is None:
            raise ProviderError("provider not started")
        request = urllib.request.Request(url, method=method, data=None)
        with self._opener.open(request, timeout=HTTP_TIMEOUT) as response:
            body: dict[str, Any] = json.load(response)
        return body

    def token_requests(self) -> int:
        """POSTs to the token endpoint since start or the last reset."""
        return int(self._call("GET", self.stats_url)["token_requests"])

    def issued_tokens(self) -> list[str]:
        """Every access token the provider issued since start or the last reset."""
        return list(self._call("GET", f"{self.issuer}/_test/issued")["access_tokens"])

    def client_assertions(self) -> list[str]:
        """Every client assertion the token endpoint received since start or the last reset, accepted or not, in order."""
        return list(self._call("GET", f"{self.issuer}/_test/issued")["client_assertions"])

    def identity_token(self, lifetime: int = 300, **claims: Any) -> str:
        """A client assertion the provider accepts for its private_key_jwt client, standing in for a CI job's identity token.

        A real one is signed by the CI's issuer and names the job's workload (iss, sub, aud), which the provider trusts
        through a federated credential. This provider knows the client's own keys instead, so the stand-in is signed with
        the client's RSA key and names what the provider checks: iss = sub = the client id, aud = the token endpoint, a
        fresh jti (it refuses one it has seen), and an exp minutes away, as CI tokens have. claims override or add
        claims; a claim set to None is left out.
        """
        if not self.client_keys:
            raise ProviderError("provider not started")
        client_id = self.clients["private_key"]["client_id"]
        now = int(time.time())
        payload = {"iss": client_id, "sub": client_id, "aud": self.token_url, "jti": os.urandom(16).hex(), "iat": now, "exp": now + lifetime}
        payload.update(claims)
        key = serialization.load_pem_private_key(self.client_keys["rsa"].read_bytes(), None)
        return jwt.encode({name: value for name, value in payload.items() if value is not None}, key, algorithm="RS256",
                          headers={"kid": "rsa"})

    def dpop_proofs(self) -> list[str]:
        """Every DPoP proof the token endpoint and the API received since start or the provider's last reset."""
        return list(self._call("GET", f"{self.issuer}/_test/issued")["dpop_proofs"])

    def dpop_nonce_challenges(self) -> int:
        """Token requests the provider answered use_dpop_nonce since start or the last reset."""
        return int(self._call("GET", self.stats_url)["dpop_nonce_challenges"])

    def api_stats(self, dpop: bool = False) -> dict[str, int]:
        """``{"calls": N, "rejected": M}`` for the protected API; with dpop, also ``dpop_calls`` and ``nonce_challenges``.

        The DPoP counters come only when asked for, as tests compare the whole dict.
        """
        stats = self._call("GET", f"{self.api_base}/_test/stats")
        return {key: int(value) for key, value in stats.items() if dpop or key in ("calls", "rejected")}

    def revoke_tokens(self) -> int:
        """Make the protected API refuse every access token issued since the last reset; returns how many it now refuses."""
        return int(self._call("POST", f"{self.api_base}/_test/revoke")["revoked"])

    def fail_next_token_request(self, client_id: str, status: int) -> None:
        """Answer the client's next token request with status, after the provider has authenticated it and issued the token."""
        self._call("POST", f"{self.issuer}/_test/fail-next?{urllib.parse.urlencode({'client_id': client_id, 'status': status})}")

    def reset(self) -> None:
        """Zero the token-request and API counters, and lift the API's revocations, between tests."""
        self._call("POST", f"{self.issuer}/_test/reset")
        self._call("POST", f"{self.api_base}/_test/reset")

    def environment(self) -> dict[str, str]:
        """Variables that tell a child process where the provider is."""
        return {
            "OAUTH2_TEST_ISSUER": self.issuer,
            "OAUTH2_TEST_TOKEN_URL": self.token_url,
            "OAUTH2_TEST_API_URL": self.api_url,
            "OAUTH2_TEST_CA_PATH": str(self.ca_path),
            "OAUTH2_TEST_CLIENTS": str(self.clients_path),
            "OAUTH2_TEST_STATS_URL": self.stats_url,
        }


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to a server started in a process group of its own, SIGKILL after STOP_GRACE seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _raise_on_sigterm(signum: int, _frame: object) -> NoReturn:
    """Turn SIGTERM into an exception so ``finally`` blocks still run."""
    raise SystemExit(128 + signum)


def _no_proxy(env: dict[str, str]) -> None:
    """Keep HTTP clients in the child from sending loopback via a proxy."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [h for h in env.get(name, "").split(",") if h]
        extra = [h for h in ("127.0.0.1", "localhost") if h not in current]
        env[name] = ",".join(current + extra)


def _stop_child(child: subprocess.Popen[bytes], forward: bool) -> None:
    """Let an interrupted command finish, then make sure it is gone.

    Ctrl-C from a terminal already reached the command (same process
    group), so it first gets time to exit on its own; a SIGTERM sent to
    the harness did not, so that one is forwarded straight away.
    """
    if forward and child.poll() is None:
        child.terminate()
    for escalate in (child.terminate, child.kill):
        try:
            child.wait(timeout=STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            escalate()
    child.wait()


def install_collection(destination: Path, bin_dir: Path) -> Path:
    """Build the collection and install the tarball, as a user gets it; returns the collections path."""
    build = destination / "build"
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "build", str(TESTS_DIR.parent),
                    "--output-path", str(build), "--force"], check=True, capture_output=True)
    tarball = next(build.glob("oauth2-client_credentials-*.tar.gz"))
    installed = destination / "collections"
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "install", str(tarball),
                    "-p", str(installed), "--force"], check=True, capture_output=True)
    return installed


def run(workdir: Path, command: Sequence[str]) -> int:
    """Run ``command`` against a fresh provider; return its exit status."""
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    with Provider(workdir) as provider:
        env = dict(os.environ)
        env.update(provider.environment())
        _no_proxy(env)
        with subprocess.Popen(list(command), env=env) as child:
            try:
                status = child.wait()
            except BaseException as exc:
                _stop_child(child, forward=isinstance(exc, SystemExit))
                raise
    return status if status >= 0 else 128 - status


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and dispatch."""
    parser = argparse.ArgumentParser(
        description="Start the test identity provider around a command."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser(
        "run", help="start the provider, run CMD with OAUTH2_TEST_* set, stop"
    )
    run_parser.add_argument("--workdir", type=Path, required=True)
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("run needs a command after --")
    try:
        return run(args.workdir, command)
    except ProviderError as err:
        print(f"harness: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"harness: {err}", file=sys.stderr)
        return 127
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
