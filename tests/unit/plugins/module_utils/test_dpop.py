# SPDX-License-Identifier: GPL-3.0-or-later
"""DPoP proofs (RFC 9449) checked the way a server checks them, and the challenges servers send to ask for a nonce."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import DpopKey, challenge, nonce_requested
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error

# RFC 7638 section 3.1: the example RSA public key and its SHA-256 thumbprint.
RFC7638_JWK = {
    "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5J"
         "sGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bF"
         "TWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

KEYS = {
    "EC P-256": (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256", {"kty", "crv", "x", "y"}),
    "EC P-384": (lambda: ec.generate_private_key(ec.SECP384R1()), "ES384", {"kty", "crv", "x", "y"}),
    "EC P-521": (lambda: ec.generate_private_key(ec.SECP521R1()), "ES512", {"kty", "crv", "x", "y"}),
    "RSA": (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", {"kty", "n", "e"}),
    "Ed25519": (ed25519.Ed25519PrivateKey.generate, "EdDSA", {"kty", "crv", "x"}),
}


def pem(private_key, encryption=None) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     encryption or serialization.NoEncryption()).decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module", params=sorted(KEYS))
def key_pair(request):
    """One generated key of each kind the collection accepts, with the algorithm and the public members its JWK must have."""
    make, algorithm, members = KEYS[request.param]
    private_key = make()
    return private_key, DpopKey(pem(private_key)), algorithm, members


def test_the_rfc_7638_example_gives_its_thumbprint(dpop_server):
    """Anchors the tests' own thumbprint to the RFC, then the key's thumbprint to the same JWK."""
    assert dpop_server.thumbprint(RFC7638_JWK) == RFC7638_THUMBPRINT
    key = DpopKey(pem(KEYS["RSA"][0]()))
    key.public_jwk = {name: RFC7638_JWK[name] for name in ("kty", "n", "e")}
    assert key.thumbprint == RFC7638_THUMBPRINT


def test_a_proof_verifies_with_the_public_key_it_carries_and_shows_nothing_private(key_pair, dpop_server):
    private_key, key, algorithm, members = key_pair
    header, claims = dpop_server.checked(key.proof("post", "https://api.example/v1/things?page=2#top", access_token="tok-1", nonce="n-1"))
    assert (header["typ"], header["alg"]) == ("dpop+jwt", algorithm)
    assert set(header["jwk"]) == members, "only the public members: no d, p, q, dp, dq or qi"
    # The key the signature verified with is the one given, not merely some key.
    assert jwt.PyJWK(header["jwk"]).key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
        private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert (claims["htm"], claims["htu"], claims["nonce"]) == ("POST", "https://api.example/v1/things", "n-1")
    assert claims["ath"] == dpop_server.hash("tok-1")
    assert abs(claims["iat"] - time.time()) < 60
    assert key.thumbprint == dpop_server.thumbprint(header["jwk"])


@pytest.mark.parametrize("curve, size", [(ec.SECP256R1(), 32), (ec.SECP384R1(), 48), (ec.SECP521R1(), 66)])
def test_ec_coordinates_keep_their_leading_zero_bytes(curve, size):
    """RFC 7518 section 6.2.1.2: x and y have the full size of the curve, else the server computes another thumbprint.
    The key is one whose x starts with a zero byte, where an encoding of the bare number would come out short."""
    private_key = next(key for key in (ec.generate_private_key(curve) for attempt in range(20000))
                       if key.public_key().public_numbers().x.bit_length() <= 8 * (size - 1))
    jwk = DpopKey(pem(private_key)).public_jwk
    assert (len(unb64url(jwk["x"])), len(unb64url(jwk["y"]))) == (size, size)


def test_a_token_request_proof_has_neither_ath_nor_nonce_unless_given(dpop_server):
    claims = dpop_server.checked(DpopKey.generate().proof("POST", "https://idp.example/token"))[1]
    assert set(claims) == {"jti", "htm", "htu", "iat"}


def test_every_proof_has_its_own_jti(dpop_server):
    """A server refuses a jti it has seen: two requests with one proof would fail."""
    key = DpopKey.generate()
    assert len({dpop_server.checked(key.proof("GET", "https://api.example/"))[1]["jti"] for index in range(50)}) == 50


def test_generated_keys_are_p256_and_each_new():
    first, second = DpopKey.generate(), DpopKey.generate()
    assert (first.algorithm, first.public_jwk["crv"]) == ("ES256", "P-256")
    assert first.thumbprint != second.thumbprint


@pytest.mark.parametrize("key_text, message", [
    (pem(dsa.generate_private_key(key_size=2048)), r"dpop_private_key is a key of type DSA: use an RSA, EC"),
    (pem(ec.generate_private_key(ec.SECP256K1())), r"dpop_private_key is a key of type EC secp256k1: use an RSA, EC"),
    (pem(ed448.Ed448PrivateKey.generate()), r"dpop_private_key is a key of type Ed448: use an RSA, EC"),
    ("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n",
     r"dpop_private_key is not a PEM private key: give the PEM text .* or its file as dpop_private_key_path\."),
    (pem(ec.generate_private_key(ec.SECP256R1()), serialization.BestAvailableEncryption(b"passphrase")),
     r"dpop_private_key is protected by a passphrase: store it without one"),
], ids=["DSA", "secp256k1", "Ed448", "garbage", "encrypted"])
def test_unusable_keys_are_refused_in_one_line_that_names_the_option_not_the_key(key_text, message):
    with pytest.raises(OAuth2Error, match="^" + message) as caught:
        DpopKey(key_text)
    text = str(caught.value)
    assert "\n" not in text
    assert not any(line in text for line in key_text.splitlines() if not line.startswith("-----")), "no line of the key"


NONCE = "eyJ7S_zG.eyJH0-Z.HX4w-7v"


@pytest.mark.parametrize("status, headers, error_code, expected", [
    # RFC 9449 section 9, a resource server's challenge.
    (401, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
           "DPoP-Nonce": NONCE}, None, NONCE),
    (401, {"www-authenticate": "DPoP error=use_dpop_nonce", "dpop-nonce": NONCE}, None, NONCE),
    (401, {"WWW-Authenticate": 'DPoP algs="ES256 PS256",error="use_dpop_nonce"', "DPoP-Nonce": NONCE}, None, NONCE),
    (401, {"WWW-Authenticate": 'Bearer realm="api", DPoP algs="ES256", error="use_dpop_nonce"', "DPoP-Nonce": NONCE}, None, NONCE),
    (401, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"'}, None, None),
    (401, {"WWW-Authenticate": 'DPoP error="invalid_token", error_description="expired"', "DPoP-Nonce": NONCE}, None, None),
    (401, {"WWW-Authenticate": 'Basic realm="use_dpop_nonce"', "DPoP-Nonce": NONCE}, None, None),
    (403, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": NONCE}, None, None),
    # RFC 9449 section 8, the token endpoint's answer: an OAuth error in the body.
    (400, {"DPoP-Nonce": NONCE}, "use_dpop_nonce", NONCE),
    (400, {"DPoP-Nonce": NONCE}, "invalid_dpop_proof", None),
    (400, {}, "use_dpop_nonce", None),
], ids=["rfc-9449", "unquoted-lower-case-names", "no-space-after-comma", "after-a-bearer-challenge", "no-nonce-header",
        "other-error", "other-scheme-only", "not-401", "token-endpoint", "token-endpoint-other-error", "token-endpoint-no-nonce"])
def test_nonce_requested(status, headers, error_code, expected):
    assert nonce_requested(status, headers, error_code) == expected


@pytest.mark.parametrize("header, expected", [
    ('Bearer realm="example", error="invalid_token", error_description="The access token expired"',
     {"realm": "example", "error": "invalid_token", "error_description": "The access token expired"}),
    ('DPoP algs="ES256 PS256", error="invalid_token", error_description="expired, get a new one"',
     {"algs": "ES256 PS256", "error": "invalid_token", "error_description": "expired, get a new one"}),
    ("Bearer Error=insufficient_scope, Scope=read", {"error": "insufficient_scope", "scope": "read"}),
    ('Bearer error="", error_description=""', {"error": "", "error_description": ""}),
    ("Negotiate", {}),
    (None, {}),
])
def test_challenge_parameters(header, expected):
    assert challenge({} if header is None else {"WWW-Authenticate": header}) == expected


def test_a_quoted_pair_in_a_challenge_stands_for_the_character_after_the_backslash():
    assert challenge({"WWW-Authenticate": r'Bearer error="invalid_token", error_description="the \"aud\" claim is wrong"'}) == \
        {"error": "invalid_token", "error_description": 'the "aud" claim is wrong'}
