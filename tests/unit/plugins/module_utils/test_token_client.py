# SPDX-License-Identifier: GPL-3.0-or-later
"""TokenClient against a fake provider on loopback: the request on the wire and every answer it can get."""

from __future__ import annotations

import base64
import secrets
import time
from urllib.parse import quote

import jwt
import pytest
from ansible.release import __version__ as ansible_version

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils import token_client
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient

try:
    from ansible.module_utils.secrets import mask_secrets
except ImportError:  # ansible-core before 2.22
    mask_secrets = None

SECRET = "Sup3r:Secret+Value%="
# Secret masking arrived with ansible-core 2.22.
MASKING_CORE = tuple(int(part) for part in ansible_version.split(".")[:2]) >= (2, 22)
NOW = 1_700_000_000


def client(provider, clock=lambda: NOW, **overrides):
    settings = {"token_url": provider.base_url + "/token", "client_id": "app", "client_secret": SECRET}
    settings.update(overrides)
    return TokenClient(ClientOptions.from_mapping(settings), clock=clock)


def signed_token(**claims):
    return jwt.encode(dict({"iss": "https://idp", "aud": "api", "jti": "j1", "iat": NOW, "exp": NOW + 600}, **claims), "k" * 32, algorithm="HS256")


def test_request_on_the_wire(provider):
    provider.answer("/token", json_body={"access_token": "opaque", "expires_in": 600, "token_type": "Bearer"})
    client(provider, scope=["read", "write"], resource=["https://a/", "https://b/"], audience="api", extra_params={"org": "x"}).fetch_token()
    seen = provider.requests[0]
    assert seen.method == "POST" and seen.path == "/token"
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(b"app:Sup3r%3ASecret%2BValue%25%3D").decode()
    assert seen.form == [
        ("grant_type", "client_credentials"), ("scope", "read write"), ("resource", "https://a/"),
        ("resource", "https://b/"), ("audience", "api"), ("org", "x"),
    ]


def test_client_secret_post_sends_no_authorization_header(provider):
    provider.answer("/token", json_body={"access_token": "opaque", "token_type": "Bearer"})
    client(provider, auth_method="client_secret_post").fetch_token()
    seen = provider.requests[0]
    assert "Authorization" not in seen.headers
    assert seen.form == [("grant_type", "client_credentials"), ("client_id", "app"), ("client_secret", SECRET)]


def test_jwt_token_result(provider):
    token = signed_token()
    provider.answer("/token", json_body={"access_token": token, "expires_in": 600, "token_type": "bearer", "scope": "read"})
    result = client(provider).fetch_token()
    assert result == {
        "access_token": token, "token_type": "Bearer", "expires_in": 600, "expires_at": NOW + 600, "scope": "read",
        "authorization": "Bearer " + token,
        "claims": {"iss": "https://idp", "aud": "api", "jti": "j1", "iat": NOW, "exp": NOW + 600}, "claims_verified": False,
    }


def test_opaque_token_has_no_claims_and_no_scope(provider):
    provider.answer("/token", json_body={"access_token": "abc.def", "expires_in": "300", "token_type": "Bearer"})
    result = client(provider).fetch_token()
    assert (result["claims"], result["scope"], result["expires_in"], result["expires_at"]) == ({}, None, 300, NOW + 300)


def test_missing_expires_in_falls_back_to_the_exp_claim(provider):
    provider.answer("/token", json_body={"access_token": signed_token(exp=NOW + 90), "token_type": "Bearer"})
    result = client(provider).fetch_token()
    assert (result["expires_in"], result["expires_at"]) == (90, NOW + 90)


def test_unknown_lifetime_stays_null(provider):
    provider.answer("/token", json_body={"access_token": "opaque", "token_type": "Bearer"})
    result = client(provider).fetch_token()
    assert (result["expires_in"], result["expires_at"]) == (None, None)


def test_discovery_finds_the_token_endpoint(provider):
    provider.answer("/oidc/2/.well-known/openid-configuration",
                    json_body={"issuer": provider.base_url + "/oidc/2/", "token_endpoint": provider.base_url + "/oidc/2/token"})
    provider.answer("/oidc/2/token", json_body={"access_token": "opaque", "token_type": "Bearer"})
    client(provider, token_url=None, issuer=provider.base_url + "/oidc/2/").fetch_token()
    assert [(r.method, r.path) for r in provider.requests] == [("GET", "/oidc/2/.well-known/openid-configuration"), ("POST", "/oidc/2/token")]


def test_token_url_wins_over_issuer_without_discovery(provider):
    provider.answer("/token", json_body={"access_token": "opaque", "token_type": "Bearer"})
    client(provider, issuer=provider.base_url + "/elsewhere").fetch_token()
    assert [r.path for r in provider.requests] == ["/token"]


@pytest.mark.parametrize(
    "status, body, message",
    [
        (401, {"error": "invalid_client", "error_description": "client authentication failed"},
         r"refused the request: HTTP 401 invalid_client \(client authentication failed\); check client_id and client_secret"),
        (400, {"error": "unsupported_grant_type", "error_description": "unsupported grant_type requested (xxxx)"},
         r"HTTP 400 unsupported_grant_type \(unsupported grant_type requested \(xxxx\)\); enable the client credentials grant"),
        (400, {"error": "invalid_request", "error_description": "invalid authorization header value format"},
         r"HTTP 400 invalid_request \(invalid authorization header value format\); check token_url"),
        (200, {"error": "invalid_scope"}, r"HTTP 200 invalid_scope; request only scopes"),
        (403, {"detail": "oops"}, r"HTTP 403 without an OAuth error code\."),
        (400, {"error": "weird_thing", "error_description": "line one\nline two"}, r"HTTP 400 weird_thing \(line one line two\)\.$"),
        (200, {"token_type": "Bearer"}, r"answered HTTP 200 without an access_token"),
        (200, {"access_token": "x", "expires_in": "soon"}, r"expires_in \"soon\", which is not a number of seconds from 0 to 315360000"),
        (200, {"access_token": "x", "expires_in": -5}, r"expires_in -5, which is not a number of seconds"),
        (200, {"access_token": "x", "expires_in": 1e300}, r"expires_in 1e\+300, which is not a number of seconds"),
        (200, {"access_token": "x", "expires_in": float("inf")}, r"expires_in Infinity, which is not a number of seconds"),
        (200, {"access_token": "x", "expires_in": float("nan")}, r"expires_in NaN, which is not a number of seconds"),
        (200, {"access_token": "x", "expires_in": [600]}, r"expires_in list, which is not a number of seconds"),
        (200, {"access_token": "x", "token_type": "DPoP"}, r"issued a DPoP token without being asked for one: set dpop: true"),
        (200, {"access_token": "x", "token_type": "MAC"}, r"issued a MAC token, which must be presented with a proof of possession"),
        (200, {"access_token": signed_token(exp=float("inf"))}, r"issued a token whose exp claim is not a time within 10 years"),
        (200, {"access_token": signed_token(exp=-1), "expires_in": 60}, r"issued a token whose exp claim is not a time"),
        (200, {"access_token": signed_token(exp="tomorrow")}, r"issued a token whose exp claim is not a time"),
        (200, {"access_token": "x", "token_type": 7}, r"token_type that is not a string"),
    ],
)
def test_provider_refusals_become_one_line(provider, status, body, message):
    provider.answer("/token", status=status, json_body=body)
    with pytest.raises(OAuth2Error, match=message) as caught:
        client(provider).fetch_token()
    assert str(caught.value).startswith("Token endpoint %s/token " % provider.base_url)
    assert "\n" not in str(caught.value)


def test_non_json_body_is_described_not_shown(provider):
    provider.answer("/token", status=403, body=b"<html>gateway says " + SECRET.encode() + b"</html>", content_type="text/html")
    with pytest.raises(OAuth2Error, match=r"answered HTTP 403 with a body \(text/html, \d+ bytes\) instead of a JSON object") as caught:
        client(provider).fetch_token()
    assert "gateway" not in str(caught.value)


def nested(depth):
    """JSON nested depth levels deep inside a token response: deep enough, beyond Python's recursion limit."""
    return ('{"access_token": "x", "expires_in": 60, "x": ' + "[" * depth + "]" * depth + "}").encode()


@pytest.mark.parametrize("depth", [33, 3000, 100000])
def test_deeply_nested_json_is_one_line(provider, depth):
    provider.answer("/token", body=nested(depth))
    with pytest.raises(OAuth2Error, match=r"^Token endpoint http://127\.0\.0\.1:\d+/token answered HTTP 200 with JSON nested more than 32 "
                                          r"levels deep \(\d+ bytes\), which is no OAuth response: check that the URL is right\.$"):
        client(provider).fetch_token()


def test_json_nested_as_deep_as_allowed_is_read(provider):
    provider.answer("/token", body=nested(31))
    assert client(provider).fetch_token()["access_token"] == "x"


@pytest.mark.parametrize("depth", [40, 100000])
def test_a_token_with_deeply_nested_claims_has_none_shown(provider, depth):
    """Claims are informational; nested beyond any real token's, they are left out like an opaque token's."""
    payload = base64.urlsafe_b64encode(('{"exp": %d, "x": %s}' % (NOW + 600, "[" * depth + "]" * depth)).encode()).decode().rstrip("=")
    provider.answer("/token", json_body={"access_token": "eyJhbGciOiJIUzI1NiJ9.%s.c2ln" % payload, "expires_in": 60})
    assert client(provider).fetch_token()["claims"] == {}


def test_error_description_echoing_the_secret_is_redacted(provider):
    provider.answer("/token", status=401, json_body={"error": "invalid_client", "error_description": "bad secret " + SECRET})
    with pytest.raises(OAuth2Error) as caught:
        client(provider).fetch_token()
    assert SECRET not in str(caught.value) and "bad secret ********" in str(caught.value)


@pytest.mark.parametrize(
    "discovery, message",
    [
        ({"status": 404, "json_body": {"error": "not_found"}}, r"OpenID discovery document .* answered HTTP 404: check issuer"),
        ({"json_body": {"issuer": "ISSUER"}}, r"names no token_endpoint: set token_url"),
        ({"json_body": {"issuer": "ISSUER", "token_endpoint": "http://idp.example.com/token"}}, r"token_endpoint published at .* uses plain http"),
        ({"body": b"[]"}, r"answered HTTP 200 with a body \(application/json, 2 bytes\) instead of a JSON object"),
    ],
)
def test_discovery_failures(provider, discovery, message):
    if "json_body" in discovery:
        discovery = dict(discovery, json_body={k: v.replace("ISSUER", provider.base_url) for k, v in discovery["json_body"].items()})
    provider.answer("/.well-known/openid-configuration", **discovery)
    with pytest.raises(OAuth2Error, match=message):
        client(provider, token_url=None, issuer=provider.base_url).fetch_token()


def test_expiry_counts_from_before_the_request(provider):
    provider.answer("/token", json_body={"access_token": "opaque", "expires_in": 5}, delay=1.2)
    before = time.time()
    result = client(provider, clock=time.time).fetch_token()
    after = time.time()
    assert int(before) + 5 <= result["expires_at"] < int(after) + 5


def test_an_earlier_exp_claim_wins_over_expires_in(provider):
    """The provider's second may have ticked before ours: its exp is the truth for a JWT."""
    provider.answer("/token", json_body={"access_token": signed_token(exp=NOW + 4), "expires_in": 5})
    result = client(provider).fetch_token()
    assert (result["expires_in"], result["expires_at"]) == (5, NOW + 4)


@pytest.mark.parametrize("secret, description", [
    # Collapsing whitespace before redacting would leave "two spaces and tab" in the message.
    ("two  spaces\tand tab", lambda secret: "bad secret " + secret),
    # Truncating before redacting would leave the secret's first characters in the message.
    (SECRET, lambda secret: "x" * 290 + secret),
])
def test_error_text_is_redacted_before_it_is_normalised_or_cut(provider, secret, description):
    provider.answer("/token", status=401, json_body={"error": "invalid_client", "error_description": description(secret)})
    with pytest.raises(OAuth2Error) as caught:
        client(provider, client_secret=secret).fetch_token()
    message = str(caught.value)
    assert "********" in message
    assert " ".join(secret.split()) not in message and secret[:5] not in message


@pytest.mark.parametrize("name, value", [("client_secret", " padded secret\t"), ("client_id", "app ")])
def test_credentials_are_sent_exactly_as_given_with_a_warning(provider, name, value):
    provider.answer("/token", json_body={"access_token": "opaque", "token_type": "Bearer"})
    padded = client(provider, auth_method="client_secret_post", **{name: value})
    padded.fetch_token()
    assert dict(provider.requests[0].form)[name] == value
    assert padded.warnings == [
        "%s has leading or trailing whitespace, which is sent as given; remove it if the provider's %s has none."
        % (name, "secret" if name == "client_secret" else "client id")
    ]


def test_credentials_without_surrounding_whitespace_give_no_warning(provider):
    assert client(provider).warnings == []


def test_every_token_handed_out_and_every_credential_is_masked_in_output(provider, tmp_path, monkeypatch):
    """Masked on ansible-core 2.22 whether the token is fresh or from the cache; older lines have no masking to ask."""
    fresh, cached = "tok-" + secrets.token_hex(8), "tok-" + secrets.token_hex(8)
    secret, passphrase = "secret-" + secrets.token_hex(8), "unused-" + secrets.token_hex(8)
    settings = {"cache_dir": str(tmp_path), "client_secret": secret, "private_key_passphrase": passphrase}
    provider.answer("/token", json_body={"access_token": cached, "expires_in": 600, "token_type": "Bearer"})
    # A token cached by another process, which registered it there, not here.
    with monkeypatch.context() as unregistered:
        unregistered.setattr(token_client, "mask_in_output", lambda values: None)
        client(provider, clock=time.time, **settings).get_token()
    provider.answer("/token", json_body={"access_token": fresh, "expires_in": 600, "token_type": "Bearer"})
    assert client(provider, clock=time.time, **settings).get_token()["access_token"] == cached
    assert client(provider, clock=time.time, cache=False, **settings).get_token()["access_token"] == fresh
    shown = "%s, Bearer %s, %s, %s, %s, client app" % (cached, fresh, secret, quote(secret, safe=""), passphrase)
    if MASKING_CORE:
        # The header value is registered whole, so "Bearer" goes with it.
        assert mask_secrets(shown) == "$REDACTED$, $REDACTED$, $REDACTED$, $REDACTED$, $REDACTED$, client app"
    else:
        assert mask_secrets is None


def _p256_pem():
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel

    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.mark.parametrize("settings, named, not_named", [
    ({}, ["client_id and client_secret", "registered for auth_method client_secret_post"], ["client_secret_basic", "private_key"]),
    ({"auth_method": "client_secret_post"}, ["client_id and client_secret", "registered for auth_method client_secret_basic"],
     ["client_secret_post", "private_key"]),
    ({"auth_method": "client_secret_jwt"}, ["client_secret", "client_assertion_algorithm", "client_assertion_audience"], ["private_key"]),
    ({"auth_method": "private_key_jwt", "client_secret": None, "private_key_id": "kid-7"},
     ["public key of private_key under the key id private_key_id kid-7", "client_assertion_algorithm"], ["client_secret", "client_secret_post"]),
    ({"auth_method": "private_key_jwt", "client_secret": None}, ["set private_key_id if it knows the key by a kid"], ["client_secret"]),
])
def test_an_invalid_client_hint_names_only_what_the_auth_method_sends(provider, tmp_path, settings, named, not_named):
    """A hint that blames a secret never sent, or suggests the method already in use, points the user the wrong way."""
    provider.answer("/token", status=401, json_body={"error": "invalid_client", "error_description": "client authentication failed"})
    if settings.get("auth_method") == "private_key_jwt":
        settings = dict(settings, private_key=_p256_pem())
    with pytest.raises(OAuth2Error) as caught:
        client(provider, **settings).fetch_token()
    hint = str(caught.value).split("(client authentication failed); ", 1)[1]
    assert all(text in hint for text in named), hint
    assert not any(text in hint for text in not_named), hint


def test_an_invalid_client_hint_for_mutual_tls_names_the_certificate(provider, tmp_path):
    provider.answer("/token", status=401, json_body={"error": "invalid_client"})
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    tokens = TokenClient(ClientOptions.from_mapping({"token_url": provider.base_url + "/token", "client_id": "app",
                                                     "client_cert": str(tmp_path / "cert.pem"), "client_key": str(tmp_path / "key.pem")}))
    with pytest.raises(OAuth2Error, match=r"invalid_client; check client_id, and that client_cert is the certificate the client is registered "
                                          r"with \(its subject\)") as caught:
        tokens.fetch_token()
    assert "client_secret" not in str(caught.value)
