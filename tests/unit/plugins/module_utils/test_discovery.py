# SPDX-License-Identifier: GPL-3.0-or-later
"""Discovery: the mix-up defence of OpenID Connect Discovery 1.0 section 4.3, the https rule for what the document
publishes, and a warning when it does not list the configured auth_method."""

from __future__ import annotations

import time

import pytest

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_cache import TokenCache
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient

WELL_KNOWN = "/.well-known/openid-configuration"


def client(provider, **overrides):
    values = {"issuer": provider.base_url, "client_id": "app", "client_secret": "client-secret-value", "cache": False}
    values.update(overrides)
    return TokenClient(ClientOptions.from_mapping(values))


def publish(provider, **document):
    values = {"issuer": provider.base_url, "token_endpoint": provider.base_url + "/token"}
    values.update(document)
    provider.answer(WELL_KNOWN, json_body={name: value for name, value in values.items() if value is not None})
    provider.answer("/token", json_body={"access_token": "opaque", "token_type": "Bearer", "expires_in": 600})


@pytest.mark.parametrize("published, shown", [
    ("https://attacker.example", "https://attacker.example"),
    (None, "null"),
    ("TRAILING/", r"http://127\.0\.0\.1:\d+/"),
    ("https://a.example\nSecond line", r"https://a\.example\?Second line"),
])
def test_a_document_of_another_issuer_is_refused(provider, published, shown):
    publish(provider, issuer=published.replace("TRAILING", provider.base_url) if published else None)
    with pytest.raises(OAuth2Error, match=r"^OpenID discovery document %s%s is for issuer %s, not the configured issuer %s: set issuer to "
                                          r"the provider's exact issuer URL \(a trailing slash counts\); .* mix-up attack\.$"
                       % (provider.base_url, WELL_KNOWN, shown, provider.base_url)):
        client(provider).get_token()
    assert [seen.method for seen in provider.requests] == ["GET"]


def test_the_published_jwks_uri_follows_the_https_rule(provider):
    publish(provider, jwks_uri="http://idp.example/jwks")
    with pytest.raises(OAuth2Error, match=r"^The jwks_uri published at .* http://idp\.example/jwks uses plain http"):
        client(provider).get_token()


@pytest.mark.parametrize("supported, warned", [
    (["client_secret_post", "private_key_jwt"], "(client_secret_post, private_key_jwt)"),
    ([], "(none)"),
    (["client_secret_basic"], None),
    (None, None),
])
def test_an_auth_method_the_provider_does_not_list_is_warned_about_and_still_used(provider, supported, warned):
    publish(provider, token_endpoint_auth_methods_supported=supported)
    token_client = client(provider)
    assert token_client.get_token()["access_token"] == "opaque"
    assert provider.requests[-1].headers["Authorization"].startswith("Basic ")
    expected = ["The provider's discovery document does not list auth_method client_secret_basic among its "
                "token_endpoint_auth_methods_supported %s; the request is sent anyway." % warned] if warned else []
    assert token_client.warnings == expected


def test_odd_method_names_are_not_repeated(provider):
    publish(provider, token_endpoint_auth_methods_supported=["client_secret_post", "evil\nline", 7])
    token_client = client(provider)
    token_client.get_token()
    assert "(client_secret_post);" in token_client.warnings[0]


def test_a_document_cached_before_the_issuer_check_is_not_used(provider, tmp_path):
    """Earlier releases cached the token endpoint as "discovery" without checking the issuer."""
    publish(provider)
    options = ClientOptions.from_mapping({"issuer": provider.base_url, "client_id": "app", "client_secret": "client-secret-value",
                                          "cache_dir": str(tmp_path / "cache")})
    cache = TokenCache(options.cache_dir)
    keys = cache.keys(options.client_secret, options.cache_identity())
    cache.get_or_fetch(keys, "discovery", lambda: {"token_endpoint": "https://attacker.example/token", "expires_at": 2 ** 40}, None,
                       time.monotonic() + 10)
    TokenClient(options).get_token()
    assert [seen.path for seen in provider.requests] == [WELL_KNOWN, "/token"]


@pytest.mark.parametrize("path, answer", [
    (WELL_KNOWN, '{"issuer": "ISSUER", "x": %s}'),
    ("/jwks", '{"keys": %s}'),
])
def test_deeply_nested_documents_are_one_line(provider, path, answer):
    publish(provider, jwks_uri=provider.base_url + "/jwks")
    # A JWT in form only (header {"alg":"RS256"}, payload {}): its keys are looked up before its signature is checked.
    provider.answer("/token", json_body={"access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "token_type": "Bearer", "expires_in": 600})
    provider.answer(path, body=(answer.replace("ISSUER", provider.base_url) % ("[" * 100000 + "]" * 100000)).encode())
    with pytest.raises(OAuth2Error, match=r"^(OpenID discovery document|JWKS) http://127\.0\.0\.1:\d+%s answered HTTP 200 with JSON nested more "
                                          r"than 32 levels deep" % path):
        client(provider, validate_token=True).get_token()


@pytest.mark.parametrize("supported, warned", [
    (["client_secret_basic", "private_key_jwt"], None),
    (["client_secret_basic"], "client_assertion (private_key_jwt on the wire) among its token_endpoint_auth_methods_supported "
                              "(client_secret_basic)"),
])
def test_a_client_assertion_is_looked_for_as_private_key_jwt(provider, supported, warned):
    """An assertion made elsewhere goes over the wire as private_key_jwt's does; discovery documents have no other name for it."""
    import jwt

    publish(provider, token_endpoint_auth_methods_supported=supported)
    assertion = jwt.encode({"iss": "https://ci.example", "sub": "job", "exp": int(time.time()) + 300}, "k" * 32, algorithm="HS256")
    token_client = client(provider, client_secret=None, client_assertion=assertion)
    assert token_client.get_token()["access_token"] == "opaque"
    assert dict(provider.requests[-1].form)["client_assertion"] == assertion
    assert token_client.warnings == (["The provider's discovery document does not list auth_method %s; the request is sent anyway." % warned]
                                     if warned else [])
