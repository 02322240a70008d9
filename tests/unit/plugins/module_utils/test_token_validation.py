# SPDX-License-Identifier: GPL-3.0-or-later
"""Token validation: verify_token on its own for every check, then through TokenClient with a fake provider."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import DEFAULT_ALGORITHMS, ClientOptions, TokenExpectations
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_validation import verify_token

ISSUER = "https://idp.example"
JWKS_URL = "https://idp.example/jwks"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC384_KEY = ec.generate_private_key(ec.SECP384R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def jwk(private_key, kid, **extra):
    """The public JWK of a key, as a provider publishes it."""
    public = private_key.public_key()
    algorithm = {rsa.RSAPublicKey: jwt.algorithms.RSAAlgorithm, ec.EllipticCurvePublicKey: jwt.algorithms.ECAlgorithm,
                 ed25519.Ed25519PublicKey: jwt.algorithms.OKPAlgorithm}
    kind = next(algorithm[base] for base in algorithm if isinstance(public, base))
    return dict(kind.to_jwk(public, as_dict=True), kid=kid, **extra)


KEYS = {"keys": [jwk(RSA_KEY, "rsa", alg="RS256", use="sig"), jwk(RSA_KEY, "rsa-any"), jwk(EC_KEY, "ec"),
                 jwk(EC384_KEY, "ec384"), jwk(ED_KEY, "ed"), jwk(OTHER_RSA_KEY, "enc", use="enc")]}


def token(key=RSA_KEY, algorithm="RS256", kid="rsa", typ="at+jwt", **claims):
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": "https://api.test/", "sub": "app", "client_id": "app", "iat": now, "exp": now + 600}
    payload.update(claims)
    headers = {"kid": kid, "typ": typ}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm=algorithm,
                      headers={k: v for k, v in headers.items() if v is not None})


def expect(audience="https://api.test/", **overrides):
    settings = dict(issuer=ISSUER, audience=audience, algorithms=DEFAULT_ALGORITHMS, leeway=30.0, jwks_url=None)
    settings.update(overrides)
    return TokenExpectations(**settings)


class Jwks:
    """The JWKS callable TokenClient hands over: what it was asked for, and a newer set after a rotation."""

    def __init__(self, cached, fresh=None):
        self.cached, self.fresh, self.calls = cached, fresh or cached, []

    def __call__(self, recent):
        self.calls.append(recent)
        return self.fresh if recent else self.cached


def verify(access_token, expected=None, jwks=None):
    return verify_token(access_token, expected or expect(), jwks or Jwks(KEYS), JWKS_URL)


def refused(access_token, message, expected=None, jwks=None):
    with pytest.raises(OAuth2Error, match=message) as caught:
        verify(access_token, expected, jwks)
    text = str(caught.value)
    assert text.startswith("Token validation failed: ") and "\n" not in text
    assert access_token not in text and not any(len(part) > 8 and part in text for part in access_token.split("."))
    return text


@pytest.mark.parametrize("key, algorithm, kid", [
    (RSA_KEY, "RS256", "rsa"), (RSA_KEY, "PS256", "rsa-any"), (RSA_KEY, "RS512", "rsa-any"),
    (EC_KEY, "ES256", "ec"), (EC384_KEY, "ES384", "ec384"), (ED_KEY, "EdDSA", "ed"),
])
def test_asymmetric_algorithms_verify(key, algorithm, kid):
    claims = verify(token(key, algorithm, kid))
    assert claims["iss"] == ISSUER and claims["client_id"] == "app"


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "JWT", "jwt", None])
def test_access_token_and_plain_jwt_types_are_accepted(typ):
    assert verify(token(typ=typ))["sub"] == "app"


def test_other_token_types_are_refused():
    refused(token(typ="dpop+jwt"), r"token type \(typ\) dpop\+jwt is neither at\+jwt nor JWT\.$")


def test_alg_none_is_refused():
    unsigned = jwt.encode({"iss": ISSUER, "aud": "https://api.test/", "exp": int(time.time()) + 600}, None, algorithm="none",
                          headers={"kid": "rsa"})
    refused(unsigned, r"token algorithm none is not one of validation_algorithms \(RS256, ")


def test_hs256_signed_with_the_public_key_is_refused():
    """The classic confusion attack: the RSA public key, which anyone can fetch, used as an HMAC secret."""
    public_pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = token().split(".")[1]
    forged_header = jwt.utils.base64url_encode(b'{"alg":"HS256","kid":"rsa","typ":"at+jwt"}').decode()
    signing_input = ("%s.%s" % (forged_header, payload)).encode()
    signature = jwt.utils.base64url_encode(jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).sign(signing_input, public_pem))
    refused("%s.%s.%s" % (forged_header, payload, signature.decode()), r"token algorithm HS256 is not one of validation_algorithms")
    # Nor can the allow-list be widened to let it in.
    with pytest.raises(OAuth2Error, match=r"may only name asymmetric signature algorithms .*, not HS256"):
        ClientOptions.from_mapping({"token_url": JWKS_URL, "client_id": "a", "client_secret": "s", "issuer": ISSUER,
                                    "validate_token": True, "validation_algorithms": ["RS256", "HS256"]})


def test_an_algorithm_outside_the_configured_list_is_refused():
    refused(token(EC_KEY, "ES256", "ec"), r"token algorithm ES256 is not one of validation_algorithms \(RS256\)",
            expect(algorithms=("RS256",)))


@pytest.mark.parametrize("key, algorithm, kid, described", [
    (EC_KEY, "ES256", "rsa-any", r"\(kty RSA\)"),           # an EC algorithm naming an RSA key
    (RSA_KEY, "PS256", "rsa", r"\(kty RSA, alg RS256\)"),    # the key is published for RS256 only
    (EC_KEY, "ES256", "ec384", r"\(kty EC, crv P-384\)"),  # ES256 needs P-256
    (ED_KEY, "EdDSA", "rsa-any", r"\(kty RSA\)"),
])
def test_the_algorithm_must_fit_the_key(key, algorithm, kid, described):
    refused(token(key, algorithm, kid), r"token algorithm %s does not fit key %s of the JWKS %s %s\.$" % (algorithm, kid, JWKS_URL, described))


def test_a_signature_by_another_key_does_not_verify():
    refused(token(OTHER_RSA_KEY), r"token signature does not verify with key rsa of the JWKS https://idp.example/jwks\.$")


def test_encryption_keys_never_verify():
    refused(token(OTHER_RSA_KEY, kid="enc"), r"token signing key kid enc is not in the JWKS")


def test_an_unknown_key_is_looked_up_once_more_then_refused():
    jwks = Jwks(KEYS)
    refused(token(kid="rotated"), r"token signing key kid rotated is not in the JWKS https://idp.example/jwks, also not after fetching it again\.$",
            jwks=jwks)
    assert jwks.calls == [False, True]


def test_a_rotated_key_is_found_in_the_refetched_set():
    jwks = Jwks({"keys": [jwk(OTHER_RSA_KEY, "old")]}, KEYS)
    assert verify(token(), jwks=jwks)["sub"] == "app"
    assert jwks.calls == [False, True]


def kidless(private_key):
    public = jwk(private_key, None)
    del public["kid"]
    return public


@pytest.mark.parametrize("kid", ["rsa", None])
def test_a_key_rotated_under_the_same_kid_is_found_in_the_refetched_set(kid):
    """A signature that fails with a known key asks for the provider's recent set once: it may hold a new key under that kid."""
    def published(key):
        return {"keys": [jwk(key, kid) if kid else kidless(key)]}

    jwks = Jwks(published(OTHER_RSA_KEY), published(RSA_KEY))
    assert verify(token(kid=kid), jwks=jwks)["sub"] == "app"
    assert jwks.calls == [False, True]


def test_a_signature_that_fails_with_the_refetched_key_too_is_refused():
    jwks = Jwks({"keys": [jwk(OTHER_RSA_KEY, "rsa")]})
    refused(token(), r"token signature does not verify with key rsa of the JWKS https://idp.example/jwks\.$", jwks=jwks)
    assert jwks.calls == [False, True]


def test_every_key_without_a_kid_is_tried():
    """During a rotation the set holds the old and the new key, both without kid."""
    jwks = Jwks({"keys": [kidless(OTHER_RSA_KEY), kidless(RSA_KEY)]})
    assert verify(token(kid=None), jwks=jwks)["sub"] == "app"
    assert jwks.calls == [False]
    refused(token(EC_KEY, "ES256", kid=None), r"token algorithm ES256 does not fit key null", jwks=Jwks({"keys": [kidless(RSA_KEY)]}))
    refused(token(ED_KEY, "EdDSA", kid=None), r"token signature does not verify with the keys without a kid of the JWKS https://idp\.example/jwks\.$",
            jwks=Jwks({"keys": [kidless(ed25519.Ed25519PrivateKey.generate())]}))


def test_a_known_key_needs_no_refetch():
    jwks = Jwks(KEYS)
    verify(token(), jwks=jwks)
    assert jwks.calls == [False]


def test_expired_beyond_the_leeway():
    refused(token(exp=int(time.time()) - 100), r"token expired at \d+ \(exp\), more than the leeway of 30 seconds ago\.$")
    assert verify(token(exp=int(time.time()) - 10))["sub"] == "app"
    refused(token(exp=int(time.time()) - 10), r"token expired", expect(leeway=0))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid(claim):
    refused(token(**{claim: int(time.time()) + 300}), r"token is not valid yet: its %s claim \d+ is more than the leeway of 30 seconds ahead" % claim)


def test_wrong_audience_names_both():
    refused(token(aud="https://a"), r"^Token validation failed: token audience https://a is not the expected https://b\.$", expect(audience="https://b"))


def test_audience_lists_and_no_expected_audience():
    assert verify(token(aud=["https://other/", "https://api.test/"]))["sub"] == "app"
    assert verify(token(aud="https://whatever/"), expect(audience=None))["sub"] == "app"
    refused(token(aud=None), r"token has no aud claim\.$")


def test_wrong_issuer_names_both():
    refused(token(iss="https://evil.example"), r"token issuer https://evil.example is not the expected https://idp.example\.$")


@pytest.mark.parametrize("claim", ["exp", "iss"])
def test_required_claims(claim):
    refused(token(**{claim: None}), r"token has no %s claim\.$" % claim)


def test_claim_values_are_shown_on_one_short_line():
    text = refused(token(aud="https://a\nforged line" + "x" * 200), r"token audience https://a\?forged linex+\.\.\. is not the expected")
    assert len(text) < 250


def test_an_opaque_token_is_not_a_jwt():
    refused("opaque-token-value", r"the access token is not a JWT: turn validate_token off")


@pytest.mark.parametrize("part", ["header", "payload"])
def test_a_token_nested_beyond_any_real_one_is_not_a_jwt(part):
    def encoded(text):
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    deep = "[" * 100000 + "]" * 100000
    header, payload = '{"alg": "RS256", "kid": "rsa", "x": %s}' % deep, '{"iss": "%s"}' % ISSUER
    if part == "payload":
        header, payload = '{"alg": "RS256", "kid": "rsa"}', '{"iss": "%s", "x": %s}' % (ISSUER, deep)
    refused("%s.%s.c2ln" % (encoded(header), encoded(payload)), r"the access token is not a JWT")
    refused(token(x=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]), r"the access token is not a JWT")


# -- through TokenClient, against a fake provider ---------------------------------------------

SECRET = "client-secret-value"


def settings(provider, **overrides):
    values = {"token_url": provider.base_url + "/token", "issuer": provider.base_url, "client_id": "app", "client_secret": SECRET,
              "validate_token": True, "jwks_url": provider.base_url + "/jwks"}
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def client(provider, clock=time.time, **overrides):
    return TokenClient(ClientOptions.from_mapping(settings(provider, **overrides)), clock=clock)


def serve(provider, access_token=None, jwks=None, **claims):
    provider.answer("/token", json_body={"access_token": access_token or token(iss=provider.base_url, **claims),
                                         "token_type": "Bearer", "expires_in": 600})
    provider.answer("/jwks", json_body=jwks or KEYS)


def gets(provider, path):
    return sum(1 for seen in provider.requests if seen.method == "GET" and seen.path == path)


def posts(provider):
    return sum(1 for seen in provider.requests if seen.method == "POST")


def test_verified_claims_replace_the_decoded_ones(provider):
    serve(provider)
    result = client(provider, cache=False).get_token()
    assert result["claims_verified"] is True and result["claims"]["iss"] == provider.base_url


def test_claims_verified_is_false_without_validation(provider):
    serve(provider)
    result = client(provider, validate_token=False, cache=False).get_token()
    assert result["claims_verified"] is False and result["claims"]["sub"] == "app"
    assert gets(provider, "/jwks") == 0


def test_keys_from_the_discovery_document(provider):
    serve(provider)
    provider.answer("/.well-known/openid-configuration", json_body={
        "issuer": provider.base_url, "token_endpoint": provider.base_url + "/token", "jwks_uri": provider.base_url + "/jwks"})
    result = client(provider, token_url=None, jwks_url=None, cache=False).get_token()
    assert result["claims_verified"] is True
    # Without a cache the document is still asked for once per token: for the token endpoint and the jwks_uri.
    assert gets(provider, "/.well-known/openid-configuration") == 1 and gets(provider, "/jwks") == 1


def test_a_discovery_document_without_jwks_uri(provider):
    serve(provider)
    provider.answer("/.well-known/openid-configuration", json_body={"issuer": provider.base_url, "token_endpoint": provider.base_url + "/token"})
    with pytest.raises(OAuth2Error, match=r"names no jwks_uri: set jwks_url to verify tokens\.$"):
        client(provider, token_url=None, jwks_url=None, cache=False).get_token()


@pytest.mark.parametrize("answer, message", [
    ({"status": 404, "json_body": {"error": "nope"}}, r"^JWKS http://127\.0\.0\.1:\d+/jwks answered HTTP 404: check jwks_url"),
    ({"json_body": {"kid": "x"}}, r"^JWKS http://127\.0\.0\.1:\d+/jwks has no keys list: check jwks_url"),
])
def test_unusable_jwks(provider, answer, message):
    serve(provider)
    provider.answer("/jwks", **answer)
    with pytest.raises(OAuth2Error, match=message):
        client(provider, cache=False).get_token()


def test_jwks_url_follows_the_https_rule(provider):
    serve(provider)
    with pytest.raises(OAuth2Error, match=r"^jwks_url http://idp\.example/jwks uses plain http"):
        client(provider, cache=False, jwks_url="http://idp.example/jwks").get_token()


def test_a_refused_token_is_not_shown_and_not_cached(provider):
    access_token = token(iss="https://evil.example")
    serve(provider, access_token=access_token)
    for attempt in range(2):
        with pytest.raises(OAuth2Error, match=r"token issuer https://evil.example is not the expected http://127") as caught:
            client(provider).get_token()
        assert access_token not in str(caught.value), attempt
    assert posts(provider) == 2


def test_an_unverified_cached_token_is_never_handed_out_as_verified(provider):
    serve(provider)
    assert client(provider, validate_token=False).get_token()["claims_verified"] is False
    assert client(provider).get_token()["claims_verified"] is True
    assert posts(provider) == 2
    # The verified token is now cached, under its expectations: used again without another check.
    assert client(provider).get_token()["claims_verified"] is True
    assert client(provider, validate_token=False).get_token()["claims_verified"] is False
    assert posts(provider) == 2 and gets(provider, "/jwks") == 1
    # Other expectations are another entry: verified against them before use.
    assert client(provider, expected_audience="https://api.test/").get_token()["claims_verified"] is True
    assert posts(provider) == 3


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("key, kid, message", [
    (RSA_KEY, "rotated", r"kid rotated is not in the JWKS"),
    (OTHER_RSA_KEY, "rsa", r"token signature does not verify with key rsa of the JWKS"),
])
def test_unknown_keys_and_bad_signatures_refetch_the_jwks_at_most_once_a_minute(provider, key, kid, message):
    clock = Clock()
    serve(provider, access_token=token(key, kid=kid, iss=provider.base_url))
    for advance, fetches in ((0, 1), (30, 1), (31, 2), (10, 2), (3600, 3)):
        clock.now += advance
        with pytest.raises(OAuth2Error, match=message):
            client(provider, clock=clock).get_token()
        assert gets(provider, "/jwks") == fetches, advance


@pytest.mark.parametrize("kid", ["rsa", None])
def test_a_key_rotated_under_the_same_kid_is_picked_up_from_a_refetched_jwks(provider, kid):
    """The JWKS is cached for an hour; a provider that replaces a key under its kid (or without kids) is followed at once."""
    def published(key):
        return {"keys": [jwk(key, kid) if kid else kidless(key)]}

    clock = Clock()
    serve(provider, access_token=token(kid=kid, iss=provider.base_url), jwks=published(RSA_KEY))
    assert client(provider, clock=clock).get_token()["claims_verified"] is True
    serve(provider, access_token=token(OTHER_RSA_KEY, kid=kid, iss=provider.base_url), jwks=published(OTHER_RSA_KEY))
    clock.now += 600  # the token is renewed; the JWKS, fetched 600 s ago, is still cached
    assert client(provider, clock=clock).get_token()["claims_verified"] is True
    assert (posts(provider), gets(provider, "/jwks")) == (2, 2)


def test_a_rotated_key_is_picked_up_from_a_refetched_jwks(provider):
    clock = Clock()
    serve(provider, jwks={"keys": [jwk(OTHER_RSA_KEY, "old")]})
    with pytest.raises(OAuth2Error, match=r"kid rsa is not in the JWKS"):
        client(provider, clock=clock).get_token()
    provider.answer("/jwks", json_body=KEYS)
    clock.now += 61
    assert client(provider, clock=clock).get_token()["claims_verified"] is True
    assert gets(provider, "/jwks") == 2


def test_without_a_cache_an_unknown_key_costs_one_jwks_request(provider):
    serve(provider, access_token=token(kid="rotated", iss=provider.base_url))
    with pytest.raises(OAuth2Error, match=r"kid rotated is not in the JWKS"):
        client(provider, cache=False).get_token()
    assert gets(provider, "/jwks") == 1


# -- options ----------------------------------------------------------------------------------

def options(**values):
    return ClientOptions.from_mapping(dict({"client_id": "a", "client_secret": "s", "validate_token": True}, **values))


@pytest.mark.parametrize("values, message", [
    ({"token_url": JWKS_URL, "jwks_url": JWKS_URL}, r"validate_token needs the issuer that tokens must name: set issuer, or expected_issuer\.$"),
    ({"token_url": JWKS_URL, "expected_issuer": ISSUER}, r"validate_token needs the provider's signing keys: set jwks_url, or issuer"),
    ({"issuer": ISSUER, "validation_algorithms": ["none"]}, r"may only name asymmetric signature algorithms \(RS256, .*EdDSA\), not none: "),
    ({"issuer": ISSUER, "validation_algorithms": []}, r"not an empty list"),
    ({"issuer": ISSUER, "leeway": -1}, r"leeway must be a number of seconds from 0 to 3600, not -1"),
    ({"issuer": ISSUER, "leeway": float("nan")}, r"leeway must be a number of seconds from 0 to 3600, not nan"),
])
def test_option_errors(values, message):
    with pytest.raises(OAuth2Error, match=message):
        options(**values)


@pytest.mark.parametrize("values, audience", [
    ({}, None),
    ({"audience": "aud"}, "aud"),
    ({"resource": ["https://r/"]}, "https://r/"),
    ({"resource": ["https://r/", "https://s/"]}, None),
    ({"audience": "aud", "resource": ["https://r/"], "expected_audience": "exp"}, "exp"),
])
def test_expected_audience_defaults_to_what_was_asked_for(values, audience):
    assert options(issuer=ISSUER, **values).validation.audience == audience


def test_expectations_default_and_stay_off_by_default():
    validation = options(issuer=ISSUER).validation
    assert (validation.issuer, validation.algorithms, validation.leeway, validation.jwks_url) == (ISSUER, DEFAULT_ALGORITHMS, 30.0, None)
    assert options(issuer=ISSUER, expected_issuer="https://other").validation.issuer == "https://other"
    assert options(issuer=ISSUER, validate_token=False).validation is None
    assert ClientOptions.from_mapping({"issuer": ISSUER, "client_id": "a", "client_secret": "s"}).validation is None
