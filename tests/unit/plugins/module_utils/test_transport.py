# SPDX-License-Identifier: GPL-3.0-or-later
"""Transport: the https rule, TLS settings, and one clear line for each network failure."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from faults import FaultServer, refused_url
from harness import MTLS_CLIENT_NAME, make_tls_material
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import (
    MAX_BODY_BYTES,
    ClientCertificate,
    Transport,
    require_secure_url,
)


@pytest.mark.parametrize(
    "url",
    ["https://idp.example.com/token", "http://127.0.0.1:8080/token", "http://127.8.9.1/t", "http://[::1]:80/t", "http://LocalHost/t",
     "http://[::1]:8080/", "HTTP://127.0.0.1/", "https://idp.example.com/a%20b?x=1#f", "https://idp.example.com/users/@me"],
)
def test_https_and_loopback_http_are_accepted(url):
    assert require_secure_url(url, "token_url") == url


@pytest.mark.parametrize("url", [
    "http://idp.example.com/token", "http://10.0.0.1/token", "http://localhost.example.com/t", "http://localhost.evil.example/",
    "http://127.0.0.1.nip.io/", "HTTP://idp.example.com/",
    # Spellings on which Python and the resolver disagree (0127 is octal, 87.0.0.1, to inet_aton).
    "http://0x7f.1/", "http://2130706433/", "http://127.1/", "http://0127.0.0.1/",
    # Only the canonical spelling counts, which also keeps out what older Pythons' ipaddress accepts.
    "http://[0:0:0:0:0:0:0:1]/",
])
def test_plain_http_elsewhere_is_refused(url):
    with pytest.raises(OAuth2Error, match=r"^token_url %s uses plain http" % re.escape(url)):
        require_secure_url(url, "token_url")


@pytest.mark.parametrize("url", ["idp.example.com/token", "ftp://idp.example.com/token", "https:///token", "https://[bad/", "https://idp:99999/"])
def test_not_a_url(url):
    with pytest.raises(OAuth2Error, match="is not an absolute https:// URL"):
        require_secure_url(url, "token_url")


@pytest.mark.parametrize("url, what", [
    # urlsplit reads host 127.0.0.1 in both, urllib3 (and so requests) connects to the host before the backslash.
    ("http://192.0.2.2:18081\\@127.0.0.1/ok", "a backslash"),
    ("http://127.0.0.1\\@evil.example/", "a backslash"),
    ("https://idp.example.com/to\nken", "a space or control character"),
    ("https://idp.example.com\t/token", "a space or control character"),
    ("https://idp.example.com/a b", "a space or control character"),
    (" https://idp.example.com/", "a space or control character"),
    ("https://idp.example.com/\x7f", "a space or control character"),
    ("https://bücher.example/token", "a non-ASCII character"),
])
def test_characters_that_parsers_read_differently_are_refused(url, what):
    with pytest.raises(OAuth2Error, match=r"^token_url contains %s, which URL parsers read differently" % what) as caught:
        require_secure_url(url, "token_url")
    assert "\n" not in str(caught.value) and "@" not in str(caught.value)


@pytest.mark.parametrize("url", ["https://user:pw@idp.example/token", "https://pw@idp.example/", "https://@idp.example/", "https://a:pw@[bad/"])
def test_userinfo_is_refused_without_being_shown(url):
    with pytest.raises(OAuth2Error, match=r"token_url '?https://\*{8}@") as caught:
        require_secure_url(url, "token_url")
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize("url", ["http://%31%32%37.0.0.1/", "https://[fe80::1%25eth0]/token"])
def test_hosts_read_differently_by_python_and_requests_are_refused(url):
    """urllib3 decodes a percent-encoded host, urlsplit does not: the loopback check would judge one host, requests dial another."""
    with pytest.raises(OAuth2Error, match=r"is read as different hosts by Python and by requests"):
        require_secure_url(url, "token_url")


def test_the_transport_itself_refuses_what_the_rule_refuses(provider):
    """The rule guards every request, not only the URLs its callers remembered to check."""
    with pytest.raises(OAuth2Error, match=r"^Token endpoint contains a backslash"):
        Transport().post_form(provider.base_url + "\\@127.0.0.1/token", "Token endpoint", lambda: ([("a", "b")], {}))
    assert provider.requests == []


@pytest.fixture
def netrc_for_loopback(isolated_home):
    netrc = isolated_home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login intruder password from-netrc\n")
    netrc.chmod(0o600)


def test_netrc_adds_no_credentials(provider, netrc_for_loopback):
    provider.answer("/token", json_body={})
    Transport().post_form(provider.base_url + "/token", "Token endpoint", lambda: ([("client_id", "app")], {}))
    assert "Authorization" not in provider.requests[0].headers


def test_netrc_does_not_replace_the_clients_own_header(provider, netrc_for_loopback):
    provider.answer("/token", json_body={})
    Transport().post_form(provider.base_url + "/token", "Token endpoint", lambda: ([], {"Authorization": "Basic b3du"}))
    assert provider.requests[0].headers["Authorization"] == "Basic b3du"


def test_proxy_environment_still_applies(provider, monkeypatch):
    """Corporate networks reach the provider through HTTPS_PROXY; turning off ~/.netrc must not turn it off."""
    monkeypatch.setenv("HTTPS_PROXY", provider.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(OAuth2Error):  # the fake proxy refuses the tunnel
        Transport().get("https://idp.example.test/token", "Token endpoint")
    assert (provider.requests[0].method, provider.requests[0].path) == ("CONNECT", "idp.example.test:443")


def test_plain_http_to_loopback_never_goes_through_a_proxy(provider, monkeypatch):
    """A proxy would carry the cleartext secret off the machine; loopback is reached directly."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    provider.answer("/token", json_body={})
    assert Transport().get(provider.base_url + "/token", "Token endpoint").status == 200
    assert provider.requests[0].path == "/token"


def test_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OAuth2Error, match=r"^Token endpoint http://127.0.0.1:%d/token is unreachable: connection refused" % port):
        Transport().get("http://127.0.0.1:%d/token" % port, "Token endpoint")


def test_dns_failure():
    with pytest.raises(OAuth2Error, match=r"is unreachable: its host name could not be resolved"):
        Transport().get("https://no-such-host.invalid/token", "Token endpoint")


def test_timeout(provider):
    provider.answer("/slow", delay=1.5)
    with pytest.raises(OAuth2Error, match=r"did not finish within 0.3 seconds, the bound for one token"):
        Transport(timeout=0.3).get(provider.base_url + "/slow", "Token endpoint")


def test_redirects_are_not_followed(provider):
    provider.answer("/token", status=307, headers={"Location": "https://elsewhere.example.com/token"})
    with pytest.raises(OAuth2Error, match=r"redirects \(HTTP 307\) to https://elsewhere.example.com/token"):
        Transport().post_form(provider.base_url + "/token", "Token endpoint", lambda: ([("a", "b")], {}))
    assert len(provider.requests) == 1


def test_oversized_answer_is_refused(provider):
    provider.answer("/big", body=b"x" * (MAX_BODY_BYTES + 10))
    with pytest.raises(OAuth2Error, match=r"answered with more than"):
        Transport().get(provider.base_url + "/big", "Token endpoint")


def serve_https(tls, on_get=lambda handler: None, client_ca=None):
    """An https server on loopback that answers every GET with {} after calling on_get(handler);
    with client_ca it requires a client certificate of that CA (mutual TLS)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            on_get(self)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert_path, tls.key_path)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "https://127.0.0.1:%d/" % server.server_address[1]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An https server whose certificate comes from a CA of this test run, which no default trust store knows."""
    tls = make_tls_material(tmp_path_factory.mktemp("tls"))
    server, url = serve_https(tls)
    yield url, str(tls.ca_path)
    server.shutdown()


def test_untrusted_certificate_says_set_ca_path(tls_server):
    url = tls_server[0]
    with pytest.raises(OAuth2Error, match=r"failed TLS verification \(certificate verify failed: unable to get local issuer certificate\): set ca_path"):
        Transport().get(url, "OpenID discovery document")


def test_ca_path_wins_over_requests_ca_bundle(tls_server, monkeypatch):
    url, ca_path = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert Transport(ca_path=ca_path).get(url, "discovery").status == 200


def test_validate_certs_false_skips_verification(tls_server):
    url = tls_server[0]
    assert Transport(validate_certs=False).get(url, "discovery").status == 200


# -- retries and the deadline, against the fault server (tests/faults.py) ------------------------


@pytest.fixture(scope="module")
def faults():
    with FaultServer() as server:
        yield server


# Unit tests run beside sanity under make -j2: a bound on wall time leaves this much for a busy machine, far below the
# waits (and hangs) that the bounds exist to catch.
BUSY_MACHINE = 1.0


def timed(action):
    started = time.monotonic()
    with pytest.raises(OAuth2Error) as caught:
        action()
    return time.monotonic() - started, str(caught.value)


@pytest.mark.parametrize("fault", ["flaky500", "flaky502", "ratelimited", "retry_after_bad_date"])
def test_a_passing_hiccup_is_retried_and_shown(faults, fault):
    """A Retry-After that is neither seconds nor a date Python can hold counts as none: the usual backoff applies."""
    transport = Transport(timeout=1, retries=2, max_retry_wait=1)
    started = time.monotonic()
    response = transport.post_form(faults.url(fault, "unit"), "Token endpoint", lambda: ([("client_secret", "s3cret-value")], {}))
    assert response.status == 200 and faults.requests["/%s/unit" % fault] == 2
    if fault == "ratelimited":
        assert time.monotonic() - started >= 1  # Retry-After: 1 is honoured
    assert len(transport.debug) == 1
    assert re.match(r"Token endpoint %s: attempt 1 failed \(HTTP \d{3}\), retrying in \d+\.\d s$" % re.escape(faults.url(fault, "unit")),
                    transport.debug[0])


def test_a_provider_that_stays_down_fails_after_the_retries(faults):
    transport = Transport(timeout=1, retries=2, max_retry_wait=0.2)
    seconds, message = timed(lambda: transport.get(faults.url("unavailable", "unit"), "Token endpoint"))
    assert faults.requests["/unavailable/unit"] == 3
    # Each wait is capped at max_retry_wait; the backoff alone would wait 0.5 s and then 1 s, plus jitter.
    assert [float(line.rsplit(" ", 2)[1]) <= 0.2 for line in transport.debug] == [True, True] and seconds < 2 * 0.2 + BUSY_MACHINE
    assert message == ("Token endpoint %s answered HTTP 503 after 3 attempts: the provider is unavailable or rate-limiting; "
                       "try again later, or raise retries or max_retry_wait." % faults.url("unavailable", "unit"))


def test_retry_after_beyond_max_retry_wait_fails_at_once(faults):
    seconds, message = timed(lambda: Transport(retries=3, max_retry_wait=5).get(faults.url("retry_after_long", "unit"), "Token endpoint"))
    assert faults.requests["/retry_after_long/unit"] == 1 and seconds < BUSY_MACHINE  # not even max_retry_wait (5 s)
    assert "answered HTTP 429 and asks to retry after 3600 seconds, longer than max_retry_wait (5): try again later" in message


def test_retry_after_as_an_http_date_is_understood(provider):
    provider.answer("/token", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    message = timed(lambda: Transport(retries=3, max_retry_wait=5).get(provider.base_url + "/token", "Token endpoint"))[1]
    assert re.search(r"answered HTTP 503 and asks to retry after \d{4,} seconds", message) and len(provider.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_other_client_errors_are_never_retried(provider, status):
    """A wrong secret fails at once, whatever Retry-After says."""
    provider.answer("/token", status=status, json_body={"error": "invalid_client"}, headers={"Retry-After": "1"})
    assert Transport(retries=3).post_form(provider.base_url + "/token", "Token endpoint", lambda: ([], {})).status == status
    assert len(provider.requests) == 1


def test_connection_refused_is_retried():
    url = refused_url()
    transport = Transport(timeout=1, retries=2, max_retry_wait=0.2)
    message = timed(lambda: transport.get(url, "Token endpoint"))[1]
    assert message.startswith("Token endpoint %s is unreachable after 3 attempts: connection refused" % url)
    assert [line.split(" (")[1].split(")")[0] for line in transport.debug] == ["NewConnectionError", "NewConnectionError"]


def test_a_server_that_never_answers_is_bounded(faults):
    seconds, message = timed(lambda: Transport(timeout=0.3, retries=1, max_retry_wait=0.2).get(faults.url("hang", "unit"), "Token endpoint"))
    assert re.search(r"did not (answer within 0.3 seconds after 2 attempts|finish within 0.8 seconds)", message), message
    assert seconds < 0.8 + BUSY_MACHINE


@pytest.fixture(scope="module")
def secure_faults(tmp_path_factory):
    tls = make_tls_material(tmp_path_factory.mktemp("faults-tls"))
    with FaultServer(tls.cert_path, tls.key_path) as server:
        yield server, str(tls.ca_path)


@pytest.mark.parametrize("fault, https", [("drip", False), ("header_drip", False), ("header_drip", True), ("slow_handshake", True)])
def test_a_dripping_exchange_is_cut_at_the_deadline(faults, secure_faults, fault, https):
    """Each byte comes well within timeout, of the handshake, the headers or the body; only the deadline for the whole exchange stops it."""
    server, ca_path = secure_faults if https else (faults, None)
    seconds, message = timed(lambda: Transport(ca_path=ca_path, timeout=1, retries=0).get(server.url(fault, "unit"), "Token endpoint"))
    assert "did not finish within 1 seconds, the bound for one token ((retries + 1) x timeout + retries x max_retry_wait)" in message
    assert 1 <= seconds < 1 + BUSY_MACHINE


def test_a_shared_deadline_that_has_passed_sends_nothing(faults):
    message = timed(lambda: Transport().get(faults.url("ok", "late"), "Token endpoint", deadline=time.monotonic()))[1]
    assert "did not finish within" in message and faults.requests["/ok/late"] == 0


@pytest.mark.parametrize("fault, message", [
    ("truncated", r"closed the connection before a complete answer: check the provider and any proxy in between\.$"),
    ("bad_encoding", r"sent a body that does not decode as its Content-Encoding says"),
    ("gzip_bomb", r"answered with more than 1048576 bytes"),
    ("huge", r"answered with more than 1048576 bytes"),
])
def test_broken_bodies_are_one_line(faults, fault, message):
    text = timed(lambda: Transport(retries=0).get(faults.url(fault, "unit"), "Token endpoint"))[1]
    assert re.search(message, text) and text.startswith("Token endpoint %s " % faults.url(fault, "unit"))


def test_a_certificate_for_another_host_fails_at_once(tmp_path):
    tls = make_tls_material(tmp_path)
    with FaultServer(tls.wrong_host_cert_path, tls.wrong_host_key_path) as wrong:
        transport = Transport(ca_path=str(tls.ca_path), retries=3)
        message = timed(lambda: transport.get(wrong.url("ok"), "Token endpoint"))[1]
    assert re.search(r"failed TLS verification \(certificate verify failed: IP address mismatch", message), message
    assert transport.debug == []


# -- mutual TLS with the client key as text: in memory for each request (a private file without memfd), gone after it --


HAS_MEMFD = hasattr(os, "memfd_create")


def memory_key_files():
    """(content, links) of every in-memory key file this process holds open: the server thread sees the client's."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        path = "/proc/self/fd/" + name
        with contextlib.suppress(OSError):
            if os.readlink(path).startswith("/memfd:oauth2-client-key"):
                with open(path, encoding="utf-8") as handle:
                    found.append((handle.read(), os.stat(path).st_nlink))
    return found


@pytest.fixture(params=["memory", "temporary file"] if HAS_MEMFD else ["temporary file"])
def mtls(request, tmp_path, monkeypatch):
    """A server that wants a client certificate of the test CA and notes, while it answers, the client's name, every
    file in the temporary directory with its mode, and every in-memory key file; and every key file the transport created.
    "temporary file" is how it runs where there is no memfd."""
    if request.param == "temporary file":
        monkeypatch.delattr(os, "memfd_create", raising=False)
    tls = make_tls_material(tmp_path)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    created = []
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        handle, path = real_mkstemp(*args, **kwargs)
        created.append(path)
        return handle, path

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    seen = []

    def on_get(handler):
        files = [(path.read_text(), stat.S_IMODE(path.stat().st_mode)) for path in temporary.iterdir()]
        name = dict(field[0] for field in handler.connection.getpeercert()["subject"])["commonName"]
        seen.append((name, files, memory_key_files() if HAS_MEMFD else []))

    server, url = serve_https(tls, on_get, client_ca=tls.ca_path)
    yield SimpleNamespace(tls=tls, url=url, temporary=temporary, created=created, seen=seen, in_memory=request.param == "memory")
    server.shutdown()


def key_text_transport(mtls, key_path, **kwargs):
    certificate = ClientCertificate(str(mtls.tls.client_cert_path), key_content=key_path.read_text())
    return Transport(ca_path=str(mtls.tls.ca_path), client_cert=certificate, **kwargs)


def left_behind(mtls):
    """Whatever holds a key after the requests: a file in the temporary directory, or an in-memory file still open."""
    return list(mtls.temporary.iterdir()) + (memory_key_files() if HAS_MEMFD else [])


def test_a_client_key_given_as_text_is_private_during_each_request_and_gone_after(mtls):
    """In memory, with no name in any directory (no links), where memfd exists; else a 0600 file."""
    transport = key_text_transport(mtls, mtls.tls.client_key_path)
    for _request in range(2):
        assert transport.get(mtls.url, "Token endpoint").status == 200
        assert left_behind(mtls) == []
    key = mtls.tls.client_key_path.read_text()
    during = (MTLS_CLIENT_NAME, [], [(key, 0)]) if mtls.in_memory else (MTLS_CLIENT_NAME, [(key, 0o600)], [])
    assert mtls.seen == [during] * 2, "each request wrote the key for its own handshake"
    assert len(set(mtls.created)) == (0 if mtls.in_memory else 2)


def test_a_client_key_file_is_used_in_place(mtls):
    certificate = ClientCertificate(str(mtls.tls.client_cert_path), key_path=str(mtls.tls.client_key_path))
    assert Transport(ca_path=str(mtls.tls.ca_path), client_cert=certificate).get(mtls.url, "Token endpoint").status == 200
    assert mtls.seen == [(MTLS_CLIENT_NAME, [], [])] and mtls.created == []


@pytest.mark.parametrize("failure", ["provider down", "key of another certificate"])
def test_the_key_file_is_removed_after_a_failed_request_too(mtls, failure):
    key_path = mtls.tls.client_key_path if failure == "provider down" else mtls.tls.wrong_host_key_path
    transport = key_text_transport(mtls, key_path, timeout=1, retries=1, max_retry_wait=0.1)
    with pytest.raises(OAuth2Error) as caught:
        transport.get(refused_url() if failure == "provider down" else mtls.url, "Token endpoint")
    assert len(mtls.created) == (0 if mtls.in_memory else 1) and left_behind(mtls) == []
    assert not any(line in str(caught.value) for line in key_path.read_text().splitlines())


# Where ansible_collections.oauth2.client_credentials is, for a plain Python process.
COLLECTIONS_ROOT = str(Path(sys.modules[Transport.__module__].__file__).parents[5])
SIGTERM_DURING_A_REQUEST = """
import os, sys
del os.memfd_create
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import ClientCertificate, Transport
certificate = ClientCertificate(sys.argv[1], key_content=open(sys.argv[2]).read())
Transport(ca_path=sys.argv[3], client_cert=certificate, timeout=30).get(sys.argv[4], "Token endpoint")
"""


def test_sigterm_during_a_request_leaves_no_key_file_where_there_is_no_memfd(secure_faults, tmp_path):
    """A process ended by SIGTERM runs no finally clause unless SIGTERM raises: the temporary file would stay."""
    server, ca_path = secure_faults
    tls = make_tls_material(tmp_path)
    temporary = tmp_path / "sigterm"
    temporary.mkdir()
    with subprocess.Popen([sys.executable, "-c", SIGTERM_DURING_A_REQUEST, str(tls.client_cert_path), str(tls.client_key_path),
                           ca_path, server.url("hang", "sigterm")], env=dict(os.environ, TMPDIR=str(temporary), PYTHONPATH=COLLECTIONS_ROOT),
                          stderr=subprocess.PIPE) as child:
        deadline = time.monotonic() + 20
        while server.requests["/hang/sigterm"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [path.name[:18] for path in temporary.iterdir()] == ["oauth2-client-key-"], child.stderr.read1().decode()
        child.terminate()
        assert child.wait(timeout=10) == 128 + signal.SIGTERM
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize("mtls", ["temporary file"], indirect=True)  # an in-memory key file needs no directory
def test_a_temporary_directory_that_cannot_be_written_is_one_line_without_the_key(mtls, monkeypatch):
    missing = mtls.temporary / "missing"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(OAuth2Error, match=r"^client_key_content cannot be written to a temporary file in %s \(No such file or directory\): "
                                          r"set TMPDIR" % re.escape(str(missing))) as caught:
        key_text_transport(mtls, mtls.tls.client_key_path).get(mtls.url, "Token endpoint")
    assert not any(line in str(caught.value) for line in mtls.tls.client_key_path.read_text().splitlines())


@pytest.mark.parametrize("key, problem", [
    ("wrong_host_key_path", "the key does not belong to the certificate"),
    (None, "the certificate or the key is not PEM"),
])
def test_a_key_that_does_not_fit_the_certificate_names_client_cert_not_ca_path(mtls, tmp_path, key, problem):
    key_path = getattr(mtls.tls, key) if key else tmp_path / "garbage.pem"
    if not key:
        key_path.write_text("not a key\n")
    certificate = ClientCertificate(str(mtls.tls.client_cert_path), key_path=str(key_path))
    with pytest.raises(OAuth2Error) as caught:
        Transport(ca_path=str(mtls.tls.ca_path), client_cert=certificate, retries=0).get(mtls.url, "Token endpoint")
    assert str(caught.value) == ("client_cert cannot be presented to Token endpoint %s (%s): give the PEM certificate and the "
                                 "private key that belongs to it." % (mtls.url, problem))


@pytest.mark.parametrize("given_as", ["file", "text"])
@pytest.mark.parametrize("encrypted_as", ["PKCS#8", "traditional"])
def test_a_key_with_a_passphrase_is_refused_before_openssl_could_prompt_for_it(mtls, tmp_path, given_as, encrypted_as):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(mtls.tls.client_key_path.read_bytes(), None)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8 if encrypted_as == "PKCS#8" else serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.BestAvailableEncryption(b"passphrase")).decode()
    key_path = tmp_path / "encrypted.pem"
    key_path.write_text(pem)
    certificate = ClientCertificate(str(mtls.tls.client_cert_path), **({"key_path": str(key_path)} if given_as == "file" else {"key_content": pem}))
    name = "client_key %s" % key_path if given_as == "file" else "client_key_content"
    with pytest.raises(OAuth2Error, match=r"^%s is protected by a passphrase, which mutual TLS cannot be given: " % re.escape(name)):
        Transport(ca_path=str(mtls.tls.ca_path), client_cert=certificate).get(mtls.url, "Token endpoint")
    assert mtls.seen == [] and mtls.created == []
