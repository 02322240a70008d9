"""Transport: the https rule, TLS settings, and one clear line for each network failure."""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import HTTPServer

import pytest

from harness import make_tls_material
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import MAX_BODY_BYTES, Transport, require_secure_url


@pytest.mark.parametrize(
    "url", ["https://idp.example.com/token", "http://127.0.0.1:8080/token", "http://127.8.9.1/t", "http://[::1]:80/t", "http://LocalHost/t"]
)
def test_https_and_loopback_http_are_accepted(url):
    assert require_secure_url(url, "token_url") == url


@pytest.mark.parametrize("url", ["http://idp.example.com/token", "http://10.0.0.1/token", "http://localhost.example.com/t"])
def test_plain_http_elsewhere_is_refused(url):
    with pytest.raises(OAuth2Error, match=r"^token_url %s uses plain http" % url):
        require_secure_url(url, "token_url")


@pytest.mark.parametrize("url", ["idp.example.com/token", "ftp://idp.example.com/token", "https:///token", "https://[bad/"])
def test_not_a_url(url):
    with pytest.raises(OAuth2Error, match="is not an absolute https:// URL"):
        require_secure_url(url, "token_url")


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
    with pytest.raises(OAuth2Error, match=r"did not answer within 0.3 seconds"):
        Transport(timeout=0.3).get(provider.base_url + "/slow", "Token endpoint")


def test_redirects_are_not_followed(provider):
    provider.answer("/token", status=307, headers={"Location": "https://elsewhere.example.com/token"})
    with pytest.raises(OAuth2Error, match=r"redirects \(HTTP 307\) to https://elsewhere.example.com/token"):
        Transport().post_form(provider.base_url + "/token", "Token endpoint", [("a", "b")], {})
    assert len(provider.requests) == 1


def test_oversized_answer_is_refused(provider):
    provider.answer("/big", body=b"x" * (MAX_BODY_BYTES + 10))
    with pytest.raises(OAuth2Error, match=r"answered with more than"):
        Transport().get(provider.base_url + "/big", "Token endpoint")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """An https server whose certificate comes from a CA of this test run, which no default trust store knows."""
    tls = make_tls_material(tmp_path_factory.mktemp("tls"))
    from http.server import BaseHTTPRequestHandler  # pylint: disable=import-outside-toplevel

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert_path, tls.key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "https://127.0.0.1:%d/" % server.server_address[1], str(tls.ca_path)
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
