# SPDX-License-Identifier: GPL-3.0-or-later
"""Client authentication: Basic encoding any decoder reads back, client assertions, keys, and which strings count as secret."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, unquote_plus

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_auth import client_auth_for
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient

SPECIAL_ID = "svc:ops+deploy %20=x"
SPECIAL_SECRET = "p@ss:w+rd %41=/&z"
ENDPOINT = "https://idp.example.com/oauth2/token"


def authenticate(**options):
    form, headers = [("grant_type", "client_credentials")], {}
    auth = client_auth_for(ClientOptions.from_mapping(dict({"token_url": ENDPOINT}, **options)))
    auth.authenticate(form, headers, ENDPOINT)
    return auth, dict(form[1:]), headers


def pem(key, passphrase=None):
    encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def test_basic_header_percent_encodes_so_form_and_plain_percent_decoders_agree():
    headers = authenticate(client_id=SPECIAL_ID, client_secret=SPECIAL_SECRET)[2]
    scheme, encoded = headers["Authorization"].split(" ")
    user, password = base64.b64decode(encoded).decode().split(":")
    assert scheme == "Basic" and "+" not in user + password
    assert (unquote(user), unquote(password)) == (SPECIAL_ID, SPECIAL_SECRET), "a plain percent-decoder, as Authlib uses"
    assert (unquote_plus(user), unquote_plus(password)) == (SPECIAL_ID, SPECIAL_SECRET), "a form decoder"


# Space, plus, percent, colon and non-ASCII: each reads differently to a form decoder and a plain percent-decoder unless encoded as %XX.
DECODED_ID = "svc:ops+deploy %20=x ü"
DECODED_SECRET = "p@ss:w+rd %41=/&z ñ€"


@pytest.fixture
def token_endpoint():
    """A token endpoint on loopback that answers each POST with answer(headers, form) -> (status, JSON body)."""
    servers = []

    def serve(answer):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # pylint: disable=invalid-name
                form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()))
                status, body = answer(self.headers, form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return "http://127.0.0.1:%d/token" % server.server_address[1]

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def percent_decoding_endpoint(token_endpoint):
    """A token endpoint that reads Basic credentials as Authlib 1.9 does: base64, split at the first colon, then a plain
    percent-decoder (urllib.parse.unquote, which leaves '+' a plus). Anything but DECODED_ID and DECODED_SECRET is
    invalid_client."""

    def answer(headers, _form):
        try:
            scheme, encoded = (headers.get("Authorization") or "").split(" ", 1)
            user, password = base64.b64decode(encoded).decode("utf-8").split(":", 1)
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors too
            scheme = user = password = ""
        if scheme == "Basic" and (unquote(user), unquote(password)) == (DECODED_ID, DECODED_SECRET):
            return 200, {"access_token": "percent-decoded-token", "token_type": "Bearer", "expires_in": 600}
        return 401, {"error": "invalid_client"}

    return token_endpoint(answer)


def token_from(url):
    options = ClientOptions.from_mapping({"token_url": url, "client_id": DECODED_ID, "client_secret": DECODED_SECRET, "cache": False})
    return TokenClient(options).get_token()


def test_a_server_with_a_plain_percent_decoder_accepts_the_basic_credentials(percent_decoding_endpoint):
    assert token_from(percent_decoding_endpoint)["access_token"] == "percent-decoded-token"


def test_basic_header_of_plain_credentials_matches_the_usual_form():
    headers = authenticate(client_id="abc", client_secret="defghijk")[2]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"abc:defghijk").decode()


def test_post_puts_credentials_in_the_form_and_no_header():
    form, headers = authenticate(client_id=SPECIAL_ID, client_secret=SPECIAL_SECRET, auth_method="client_secret_post")[1:]
    assert headers == {} and form == {"client_id": SPECIAL_ID, "client_secret": SPECIAL_SECRET}


def test_sensitive_values_cover_raw_encoded_and_header_forms():
    auth, _form, headers = authenticate(client_id=SPECIAL_ID, client_secret=SPECIAL_SECRET)
    values = auth.sensitive_values()
    assert SPECIAL_SECRET in values and "p%40ss%3Aw%2Brd+%2541%3D%2F%26z" in values and "p%40ss%3Aw%2Brd%20%2541%3D%2F%26z" in values
    assert headers["Authorization"].split(" ")[1] in values


@pytest.mark.parametrize("algorithm", [None, "HS384", "HS512"])
def test_client_secret_jwt_assertion(algorithm):
    auth, form, headers = authenticate(client_id="cid", client_secret=SPECIAL_SECRET, auth_method="client_secret_jwt",
                                       client_assertion_algorithm=algorithm)
    assert headers == {} and "client_secret" not in form and form["client_id"] == "cid"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    claims = jwt.decode(form["client_assertion"], SPECIAL_SECRET, algorithms=[algorithm or "HS256"], audience=ENDPOINT)
    assert claims["iss"] == claims["sub"] == "cid" and claims["exp"] - claims["iat"] == 60 and len(claims["jti"]) >= 32
    second = authenticate(client_id="cid", client_secret=SPECIAL_SECRET, auth_method="client_secret_jwt")[1]
    assert jwt.decode(second["client_assertion"], options={"verify_signature": False})["jti"] != claims["jti"]
    assert auth.cache_secret() == SPECIAL_SECRET


KEYS = {
    "RSA": (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
    "P-256": (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    "P-384": (ec.generate_private_key(ec.SECP384R1()), "ES384"),
    "Ed25519": (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
}


@pytest.mark.parametrize("kind", KEYS)
def test_private_key_jwt_picks_the_algorithm_of_the_key_and_is_chosen_by_the_key(kind):
    key, algorithm = KEYS[kind]
    auth, form, _headers = authenticate(client_id="cid", private_key=pem(key), private_key_id="k1",
                                        client_assertion_audience="https://idp.example.com")
    assertion = form["client_assertion"]
    assert jwt.get_unverified_header(assertion) == {"alg": algorithm, "kid": "k1", "typ": "JWT"}
    claims = jwt.decode(assertion, key.public_key(), algorithms=[algorithm], audience="https://idp.example.com")
    assert claims["iss"] == claims["sub"] == "cid"
    assert auth.cache_secret() == pem(key) and pem(key) in auth.sensitive_values()


def test_private_key_jwt_with_pss_and_an_encrypted_key_from_a_file(tmp_path):
    key = KEYS["RSA"][0]
    path = tmp_path / "key.pem"
    path.write_text(pem(key, "pass phrase"))
    form = authenticate(client_id="cid", private_key_path=str(path), private_key_passphrase="pass phrase",
                        client_assertion_algorithm="PS256")[1]
    assert jwt.decode(form["client_assertion"], key.public_key(), algorithms=["PS256"], audience=ENDPOINT)["sub"] == "cid"


@pytest.mark.parametrize("options, message", [
    ({"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"},
     r"^private_key is not a PEM private key, or private_key_passphrase does not open it"),
    ({"private_key": pem(KEYS["P-256"][0], "right"), "private_key_passphrase": "wrong"},
     r"^private_key is not a PEM private key, or private_key_passphrase does not open it"),
    ({"private_key": pem(KEYS["P-256"][0], "right")}, r"^private_key is encrypted: give its passphrase as private_key_passphrase"),
    ({"private_key": pem(KEYS["P-256"][0]), "client_assertion_algorithm": "RS256"},
     r"^client_assertion_algorithm RS256 does not fit the EC secp256r1 private_key: use ES256\.$"),
    ({"private_key": pem(KEYS["RSA"][0]), "client_assertion_algorithm": "EdDSA"}, r"does not fit the RSA private_key: use RS256 or RS384"),
    ({"client_secret": SPECIAL_SECRET, "auth_method": "client_secret_jwt", "client_assertion_algorithm": "RS256"},
     r"^client_assertion_algorithm RS256 does not fit client_secret_jwt: use one of HS256, HS384, HS512\.$"),
])
def test_bad_keys_and_algorithms_name_the_option_and_never_show_the_key(options, message):
    with pytest.raises(OAuth2Error, match=message) as caught:
        authenticate(client_id="cid", **options)
    key_lines = options.get("private_key", "").splitlines()[1:-1]
    assert not any(line in str(caught.value) for line in key_lines) and "right" not in str(caught.value)


def test_a_client_certificate_without_a_secret_means_tls_client_auth(tmp_path):
    (tmp_path / "client.pem").write_text("certificate")
    (tmp_path / "client-key.pem").write_text("key material")
    auth, form, headers = authenticate(client_id="cid", client_cert=str(tmp_path / "client.pem"), client_key=str(tmp_path / "client-key.pem"))
    assert (form, headers) == ({"client_id": "cid"}, {})
    assert auth.cache_secret() == "key material"
    with_secret = authenticate(client_id="cid", client_secret=SPECIAL_SECRET, client_cert=str(tmp_path / "client.pem"),
                               client_key=str(tmp_path / "client-key.pem"))[2]
    assert with_secret["Authorization"].startswith("Basic "), "a certificate beside a secret binds the token, Basic still authenticates"


def test_a_client_key_given_as_text_keys_the_cache_and_is_never_shown(tmp_path):
    (tmp_path / "client.pem").write_text("certificate")
    key = pem(KEYS["P-256"][0])
    auth, form, _headers = authenticate(client_id="cid", client_cert=str(tmp_path / "client.pem"), client_key_content=key)
    assert form == {"client_id": "cid"} and auth.cache_secret() == key and key in auth.sensitive_values()


@pytest.mark.parametrize("timeout, lifetime", [(10, 60), (30, 60), (45, 75), (600, 630)])
def test_an_assertion_outlives_the_attempt_it_is_sent_with(timeout, lifetime):
    form = authenticate(client_id="cid", client_secret=SPECIAL_SECRET, auth_method="client_secret_jwt", timeout=timeout)[1]
    claims = jwt.decode(form["client_assertion"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == lifetime


@pytest.mark.parametrize("method", ["client_secret_jwt", "private_key_jwt"])
def test_a_retry_sends_a_fresh_assertion_to_a_provider_that_refuses_replays(token_endpoint, method):
    """The first attempt is used up (its jti recorded) and answered 503, as a gateway may after the provider did its work."""
    key = KEYS["P-256"][0]
    jtis = []

    def answer(_headers, form):
        verifier = (SPECIAL_SECRET, "HS256") if method == "client_secret_jwt" else (key.public_key(), "ES256")
        claims = jwt.decode(form["client_assertion"], verifier[0], algorithms=[verifier[1]], options={"verify_aud": False})
        if claims["jti"] in jtis:
            return 400, {"error": "invalid_client", "error_description": "client assertion tokens must only be used once"}
        jtis.append(claims["jti"])
        if len(jtis) == 1:
            return 503, {"error": "temporarily_unavailable"}
        return 200, {"access_token": "fresh-assertion-token", "token_type": "Bearer", "expires_in": 600}

    credentials = {"client_secret": SPECIAL_SECRET} if method == "client_secret_jwt" else {"private_key": pem(key)}
    options = ClientOptions.from_mapping(dict(credentials, token_url=token_endpoint(answer), client_id="cid", auth_method=method, retries=2,
                                              max_retry_wait=1, cache=False))
    assert TokenClient(options).get_token()["access_token"] == "fresh-assertion-token"
    assert len(jtis) == 2


@pytest.mark.parametrize("method", ["client_secret_jwt", "private_key_jwt"])
def test_an_assertion_echoed_by_the_provider_is_blanked_out(token_endpoint, method):
    """A signed assertion is a credential while it lives: whoever reads it from a log could replay it."""
    sent = []

    def answer(_headers, form):
        sent.append(form["client_assertion"])
        return 400, {"error": "invalid_client", "error_description": "assertion %s is not accepted" % form["client_assertion"]}

    credentials = {"client_secret": SPECIAL_SECRET} if method == "client_secret_jwt" else {"private_key": pem(KEYS["P-256"][0])}
    options = ClientOptions.from_mapping(dict(credentials, token_url=token_endpoint(answer), client_id="cid", auth_method=method, cache=False))
    with pytest.raises(OAuth2Error, match=r"HTTP 400 invalid_client \(assertion \*{8} is not accepted\)") as caught:
        TokenClient(options).get_token()
    assert len(sent) == 1 and sent[0] not in str(caught.value) and sent[0].split(".")[2] not in str(caught.value)


# -- client_assertion: an assertion made elsewhere, a CI job's identity token ---------------------------------------------

CI_ISSUER = "https://token.actions.githubusercontent.com"
CI_SUBJECT = "repo:example/deploy:environment:production"
CI_AUDIENCE = "api://AzureADTokenExchange"


def identity_token(lifetime=300, **claims):
    """What a CI job's identity token looks like: signed by the CI (a key of ours stands in), a fresh jti, minutes of life."""
    now = int(time.time())
    payload = {"iss": CI_ISSUER, "sub": CI_SUBJECT, "aud": CI_AUDIENCE, "jti": uuid.uuid4().hex, "iat": now, "exp": now + lifetime}
    payload.update(claims)
    return jwt.encode({name: value for name, value in payload.items() if value is not None}, KEYS["P-256"][0], algorithm="ES256")


def assertion_auth(**options):
    return client_auth_for(ClientOptions.from_mapping(dict({"token_url": ENDPOINT, "client_id": "cid"}, **options)))


def sent_form(auth):
    form = []
    auth.authenticate(form, {}, ENDPOINT)
    return dict(form)


def test_a_client_assertion_is_sent_as_given_with_its_type_and_without_a_secret():
    token = identity_token()
    auth, form, headers = authenticate(client_id="cid", client_assertion=token + "\n")
    assert headers == {} and form == {"client_id": "cid", "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                      "client_assertion": token}
    assert auth.sensitive_values() == (token,)
    other_type = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"
    assert authenticate(client_id="cid", client_assertion=token, client_assertion_type=other_type)[1]["client_assertion_type"] == other_type


def test_client_assertion_file_is_read_again_for_every_attempt(tmp_path):
    """CI runners and the kubelet replace the file under a running job: the one read at the start may be stale by a retry."""
    path = tmp_path / "id-token"
    first, second = identity_token(), identity_token()
    path.write_text(first + "\n")
    auth = assertion_auth(client_assertion_file=str(path))
    assert sent_form(auth)["client_assertion"] == first
    path.write_text(second)
    assert sent_form(auth)["client_assertion"] == second
    assert auth.sensitive_values() == (first, second), "every assertion read is blanked out of messages"


def test_a_retry_reads_the_file_again(token_endpoint, tmp_path):
    """The first attempt is used up (its jti recorded) and answered 503; the runner has written a new token meanwhile."""
    path = tmp_path / "id-token"
    tokens = [identity_token(), identity_token()]
    path.write_text(tokens[0])
    seen = []

    def answer(_headers, form):
        seen.append(form["client_assertion"])
        if len(seen) == 1:
            path.write_text(tokens[1])
            return 503, {"error": "temporarily_unavailable"}
        return 200, {"access_token": "federated-token", "token_type": "Bearer", "expires_in": 600}

    options = ClientOptions.from_mapping({"token_url": token_endpoint(answer), "client_id": "cid", "client_assertion_file": str(path),
                                          "retries": 1, "max_retry_wait": 1, "cache": False})
    assert TokenClient(options).get_token()["access_token"] == "federated-token"
    assert seen == tokens


@pytest.mark.parametrize("claims", [{"exp": None}, {"exp": 4102444800}, {"exp": 4102444800.5}])
def test_an_assertion_without_exp_or_with_a_future_one_is_sent(claims):
    assert sent_form(assertion_auth(client_assertion=identity_token(**claims)))["client_id"] == "cid"


def test_an_expired_assertion_is_one_line_with_its_expiry_before_any_request(provider, tmp_path):
    """With discovery too: not even the discovery document is fetched."""
    expired = identity_token(exp=1767225600)  # 2026-01-01T00:00:00Z
    options = ClientOptions.from_mapping({"issuer": provider.base_url, "client_id": "cid", "client_assertion": expired, "cache": False})
    with pytest.raises(OAuth2Error, match=r"^client_assertion expired at 2026-01-01T00:00:00Z; identity tokens of CI jobs live minutes: "
                                          r"request it in the job that runs the play\.$") as caught:
        TokenClient(options).get_token()
    assert provider.requests == [] and expired not in str(caught.value)
    path = tmp_path / "id-token"
    path.write_text(expired)
    with pytest.raises(OAuth2Error, match=r"^client_assertion_file %s holds an assertion that expired at 2026-01-01T00:00:00Z; identity "
                                          r"tokens of CI jobs live minutes" % re.escape(str(path))):
        assertion_auth(client_assertion_file=str(path)).check()


@pytest.mark.parametrize("exp", ["soon", True, float("inf"), -1, 1e300])
def test_an_exp_that_is_no_time_is_one_line(exp):
    with pytest.raises(OAuth2Error, match=r"^client_assertion has an exp claim that is not a time: give the identity token as its issuer made it\.$"):
        assertion_auth(client_assertion=identity_token(exp=exp)).check()


def b64(data):
    return base64.urlsafe_b64encode(data if isinstance(data, bytes) else json.dumps(data).encode()).decode().rstrip("=")


NOT_A_JWT = {
    "one part": "SECRET-MARKER-opaque-token-value",
    "two parts": "%s.%s" % (b64({"alg": "ES256"}), b64({"sub": "x"})),
    "four parts": "%s.%s.c2ln.ZXh0cmE" % (b64({"alg": "ES256"}), b64({"sub": "x"})),
    "a payload that is not JSON": "%s.%s.c2ln" % (b64({"alg": "ES256"}), b64(b"not json")),
    "a payload that is a list": "%s.%s.c2ln" % (b64({"alg": "ES256"}), b64(["sub"])),
    "a header that is a string": "%s.%s.c2ln" % (b64("ES256"), b64({"sub": "x"})),
    "standard base64 with padding": "%s.%s.c2ln" % (base64.b64encode(b'{"alg":"ES256?"}').decode(), b64({"sub": "x"})),
    "nested a thousand levels deep": "%s.%s.c2ln" % (b64({"alg": "ES256"}), b64(b"[" * 1000 + b"]" * 1000)),
    "an empty signature": "%s.%s." % (b64({"alg": "none"}), b64({"sub": "x"})),
    "far too long": "%s.%s.c2ln" % (b64({"alg": "ES256"}), b64({"sub": "x" * 70000})),
}


@pytest.mark.parametrize("label", NOT_A_JWT)
def test_an_assertion_that_is_not_a_jwt_is_one_line_without_it(label):
    value = NOT_A_JWT[label]
    with pytest.raises(OAuth2Error, match=r"^client_assertion is not a JWT \(three base64url parts separated by dots, the first two JSON "
                                          r"objects\): give the identity token itself \(%d characters, not shown\)\.$" % len(value)) as caught:
        assertion_auth(client_assertion=value).cache_secret()
    assert value not in str(caught.value) and value.split(".")[0] not in str(caught.value)


@pytest.mark.parametrize("content, looks", [
    ('{"count": 1, "value": "eyJ..."}', r"is JSON, not a JWT: give the token itself \(of GitHub's ID token answer, its value field: jq -r \.value\)"),
    ("Bearer " + "eyJhbGciOi.eyJzdWIi.c2ln", r"is an Authorization header, not a JWT: give the token without its Bearer prefix"),
    ("\u00e9t\u00e9.\u00e9t\u00e9.sig", r"is not a JWT"),
    ("", r"is empty: write the identity token to it before the play runs\.$"),
])
def test_a_file_that_does_not_hold_a_jwt_is_one_line_naming_it(tmp_path, content, looks):
    path = tmp_path / "id-token"
    path.write_bytes(content.encode("utf-8"))
    with pytest.raises(OAuth2Error, match=r"^client_assertion_file %s %s" % (re.escape(str(path)), looks)):
        assertion_auth(client_assertion_file=str(path)).check()


def test_a_file_that_cannot_be_read_is_one_line_naming_it(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, reason in ((tmp_path / "missing", r"cannot be read \(No such file or directory\): give the absolute path of the identity "
                                                r"token's file where the token is requested"),
                         (tmp_path, "is not a regular file"), (fifo, "is not a regular file")):
        with pytest.raises(OAuth2Error, match=r"^client_assertion_file %s %s" % (re.escape(str(path)), reason)):
            assertion_auth(client_assertion_file=str(path)).check()


def test_a_projected_token_behind_symbolic_links_is_read(tmp_path):
    """The kubelet writes a projected volume as ..data -> ..<timestamp>/token and swaps the ..data link to rotate it."""
    (tmp_path / "..2026_01_01").mkdir()
    (tmp_path / "..2026_01_01" / "token").write_text(identity_token(sub="system:serviceaccount:deploy:ansible"))
    (tmp_path / "..data").symlink_to("..2026_01_01")
    (tmp_path / "token").symlink_to("..data/token")
    assert "system:serviceaccount:deploy:ansible" in assertion_auth(client_assertion_file=str(tmp_path / "token")).cache_secret()


def test_the_cache_is_keyed_by_the_workload_the_assertion_names_not_by_the_assertion():
    def secret(**claims):
        return assertion_auth(client_assertion=identity_token(**claims)).cache_secret()

    assert secret() == secret() == secret(jti="other", iat=1, exp=4102444800, run_id="42"), "each job's new token finds the last one's"
    workloads = {secret(), secret(iss="https://gitlab.example.com"), secret(sub="repo:example/deploy:ref:refs/heads/main"),
                 secret(aud=["api://AzureADTokenExchange", "other"]), secret(aud="https://keycloak.example.com/realms/ops")}
    assert len(workloads) == 5, "another workload never gets its token"
    other_type = assertion_auth(client_assertion=identity_token(), client_assertion_type="urn:example:other").cache_secret()
    assert other_type not in workloads


def test_an_expired_assertion_still_names_its_workload_for_the_cache():
    """A token cached with the last assertion is handed out while it lasts; only a new request needs a new assertion."""
    expired = assertion_auth(client_assertion=identity_token(exp=1767225600))
    assert expired.cache_secret() == assertion_auth(client_assertion=identity_token()).cache_secret()


def test_a_refused_assertion_names_the_issuer_subject_and_audience_to_check(token_endpoint):
    token = identity_token(exp=4102444800)

    def answer(_headers, form):
        return 401, {"error": "invalid_client", "error_description": "no federated credential matches %s" % form["client_assertion"]}

    options = ClientOptions.from_mapping({"token_url": token_endpoint(answer), "client_id": "cid", "client_assertion": token, "cache": False})
    with pytest.raises(OAuth2Error) as caught:
        TokenClient(options).get_token()
    assert str(caught.value).endswith(
        "HTTP 401 invalid_client (no federated credential matches ********); check that the provider trusts this client's assertions "
        "from issuer %s with subject %s and audience %s (its federated credential must name exactly these), and that the assertion is "
        "valid by the provider's clock (expires 2100-01-01T00:00:00Z)." % (CI_ISSUER, CI_SUBJECT, CI_AUDIENCE))
    assert token not in str(caught.value) and token.split(".")[1] not in str(caught.value)
