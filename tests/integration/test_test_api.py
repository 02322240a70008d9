# SPDX-License-Identifier: GPL-3.0-or-later
"""The test provider's DPoP token requests and the protected API's token checks, over plain HTTP from Python.

Tests of the collection's DPoP support and api_call rely on these servers telling a correct client from a wrong one;
here a small DPoP client of this file's own is the correct one, and each way of being wrong is refused by name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Callable, Iterator, Optional

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PROOF_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA")
NEW_PRIVATE_KEY: dict[str, Callable] = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ES512": lambda: ec.generate_private_key(ec.SECP521R1()),
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "PS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}
# RFC 7638 section 3.2: the members a thumbprint hashes, per key type.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def b64url_sha256(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


class DpopKey:
    """A client's DPoP key pair, making proofs as RFC 9449 section 4.2 describes them."""

    def __init__(self, alg: str = "ES256") -> None:
        self.alg = alg
        self.private_key = NEW_PRIVATE_KEY[alg]()
        self.jwk = jwt.get_algorithm_by_name(alg).to_jwk(self.private_key.public_key(), as_dict=True)

    @property
    def thumbprint(self) -> str:
        members = {name: self.jwk[name] for name in THUMBPRINT_MEMBERS[self.jwk["kty"]]}
        return b64url_sha256(json.dumps(members, sort_keys=True, separators=(",", ":")))

    def proof(self, method: str, url: str, access_token: Optional[str] = None, nonce: Optional[str] = None,
              header: Optional[dict] = None, **claims) -> str:
        """A fresh proof for one request; header and claims override the correct values, to make wrong proofs."""
        payload = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        if access_token is not None:
            payload["ath"] = b64url_sha256(access_token)
        if nonce is not None:
            payload["nonce"] = nonce
        payload.update(claims)
        headers = {"typ": "dpop+jwt", "jwk": self.jwk, **(header or {})}
        return jwt.encode(payload, self.private_key, algorithm=headers.pop("alg", self.alg), headers=headers)


@pytest.fixture
def http(provider) -> Iterator[requests.Session]:
    """A session that trusts the run's CA only and goes to loopback directly; the servers' counters start at zero."""
    provider.reset()
    with requests.Session() as session:
        session.verify = str(provider.ca_path)
        session.trust_env = False
        yield session


def request_token(http, provider, client: str, proof: Optional[str] = None):
    credentials = provider.clients[client]
    return http.post(provider.token_url, data={"grant_type": "client_credentials", "scope": "read"},
                     auth=(credentials["client_id"], credentials["client_secret"]), headers={"DPoP": proof} if proof else {})


def provider_nonce(http, provider, key: DpopKey) -> str:
    challenge = request_token(http, provider, "dpop", key.proof("POST", provider.token_url))
    assert challenge.status_code == 400 and challenge.json()["error"] == "use_dpop_nonce", challenge.text
    return challenge.headers["DPoP-Nonce"]


def dpop_token(http, provider, key: DpopKey) -> str:
    """A DPoP-bound access token of the dpop client: the nonce challenge first, then the token."""
    answer = request_token(http, provider, "dpop", key.proof("POST", provider.token_url, nonce=provider_nonce(http, provider, key)))
    assert answer.status_code == 200 and answer.json()["token_type"] == "DPoP", answer.text
    return answer.json()["access_token"]


def bearer_token(http, provider) -> str:
    answer = request_token(http, provider, "basic")
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def dpop_call(http, key: DpopKey, token: str, url: str, method: str = "GET", proof: Optional[str] = None,
              headers: Optional[dict] = None, **kwargs):
    """A call with a DPoP-bound token and a correct proof for it, unless one is given."""
    proof = proof or key.proof(method, url.split("?")[0], token)
    return http.request(method, url, headers={"Authorization": "DPoP " + token, "DPoP": proof, **(headers or {})}, **kwargs)


def bearer_call(http, token: str, url: str, method: str = "GET", **kwargs):
    return http.request(method, url, headers={"Authorization": "Bearer " + token}, **kwargs)


def assert_refused(answer: requests.Response, challenge: str, description: str) -> None:
    """A 401 whose WWW-Authenticate starts with challenge, and whose JSON body names the failed check."""
    assert answer.status_code == 401, answer.text
    assert answer.headers["WWW-Authenticate"].startswith(challenge), answer.headers["WWW-Authenticate"]
    assert description in answer.json()["error_description"], answer.text


@pytest.mark.parametrize("alg", PROOF_ALGORITHMS)
def test_a_dpop_token_needs_the_provider_nonce_and_is_bound_to_the_proof_key(http, provider, alg):
    key = DpopKey(alg)
    token = dpop_token(http, provider, key)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.thumbprint}
    assert provider.dpop_nonce_challenges() == 1
    answer = dpop_call(http, key, token, provider.api_url)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"client_id": "cc-dpop-client", "scope": "read", "aud": "https://api.test/", "exp": claims["exp"],
                             "token_type": "DPoP", "jkt": key.thumbprint}
    assert provider.api_stats(dpop=True) == {"calls": 1, "rejected": 0, "dpop_calls": 1, "nonce_challenges": 0}


def test_the_dpop_client_gets_no_token_without_a_proof(http, provider):
    answer = request_token(http, provider, "dpop")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text


def test_bearer_clients_need_no_nonce_and_keep_bearer_tokens(http, provider):
    answer = request_token(http, provider, "basic")
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer", answer.text
    assert "cnf" not in jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    called = bearer_call(http, answer.json()["access_token"], provider.api_url)
    assert called.status_code == 200 and called.json()["token_type"] == "Bearer" and "jkt" not in called.json(), called.text
    assert provider.dpop_nonce_challenges() == 0
    assert provider.api_stats() == {"calls": 1, "rejected": 0}


def test_the_token_endpoint_refuses_a_replayed_proof(http, provider):
    key = DpopKey()
    proof = key.proof("POST", provider.token_url, nonce=provider_nonce(http, provider, key))
    answers = [request_token(http, provider, "dpop", proof), request_token(http, provider, "dpop", proof)]
    assert [answer.status_code for answer in answers] == [200, 400], answers[1].text
    assert answers[1].json()["error"] == "invalid_grant"  # oidc-provider keeps the reason (replay) to its log


def test_a_replayed_proof_is_refused(http, provider):
    key = DpopKey()
    token = dpop_token(http, provider, key)
    proof = key.proof("GET", provider.api_url, token)
    assert dpop_call(http, key, token, provider.api_url, proof=proof).status_code == 200
    assert_refused(dpop_call(http, key, token, provider.api_url, proof=proof),
                   'DPoP error="invalid_dpop_proof"', "was used before (replayed proof)")


# Each a wrong proof for GET on the API's /whoami, made from the token's key, the URL and the token.
WRONG_PROOFS = {
    "htm": (lambda key, url, token: key.proof("POST", url, token), "htm POST is not the request method GET"),
    "htu path": (lambda key, url, token: key.proof("GET", url.replace("/whoami", "/echo"), token), "htu "),
    "htu query": (lambda key, url, token: key.proof("GET", url + "?a=1", token), "carries a query or fragment"),
    "ath": (lambda key, url, token: key.proof("GET", url, token + "x"), "ath is not the SHA-256 of the access token"),
    "no ath": (lambda key, url, token: key.proof("GET", url), "ath is not the SHA-256 of the access token"),
    "old iat": (lambda key, url, token: key.proof("GET", url, token, iat=int(time.time()) - 120), "not within 60 s"),
    "future iat": (lambda key, url, token: key.proof("GET", url, token, iat=int(time.time()) + 120), "not within 60 s"),
    "no jti": (lambda key, url, token: key.proof("GET", url, token, jti=None), "jti is missing"),
    "typ": (lambda key, url, token: key.proof("GET", url, token, header={"typ": "JWT"}), "typ JWT is not dpop+jwt"),
    "alg": (lambda key, url, token: DpopKey("RS256").proof("GET", url, token, header={"alg": "RS512"}), "alg RS512 is not one of"),
    "private jwk": (lambda key, url, token: key.proof("GET", url, token, header={"jwk": dict(key.jwk, d="AAAA")}),
                    "private key members: d"),
    "signature": (lambda key, url, token: key.proof("GET", url, token)[:-8] + "AAAAAAAA", "signature"),
    "jwk of another key": (lambda key, url, token: key.proof("GET", url, token, header={"jwk": DpopKey().jwk}), "signature"),
    "another key": (lambda key, url, token: DpopKey().proof("GET", url, token), "is not the key the token is bound to"),
}


@pytest.mark.parametrize("wrong", WRONG_PROOFS)
def test_a_wrong_proof_is_refused_naming_the_check(http, provider, wrong):
    key = DpopKey()
    token = dpop_token(http, provider, key)
    make_proof, description = WRONG_PROOFS[wrong]
    assert_refused(dpop_call(http, key, token, provider.api_url, proof=make_proof(key, provider.api_url, token)),
                   'DPoP error="invalid_dpop_proof", error_description="', description)
    assert provider.api_stats(dpop=True) == {"calls": 1, "rejected": 1, "dpop_calls": 0, "nonce_challenges": 0}


def test_a_token_is_refused_in_the_other_scheme(http, provider):
    key = DpopKey()
    assert_refused(bearer_call(http, dpop_token(http, provider, key), provider.api_url),
                   'DPoP error="invalid_token"', "a DPoP-bound token (cnf.jkt) was presented as a Bearer token")
    assert_refused(dpop_call(http, key, bearer_token(http, provider), provider.api_url),
                   'DPoP error="invalid_token"', "the token is not DPoP-bound")
    assert_refused(http.get(provider.api_url), 'Bearer error="invalid_token"', "missing or malformed bearer token")


def test_the_nonce_endpoint_wants_the_api_nonce(http, provider):
    key = DpopKey()
    token_nonce = provider_nonce(http, provider, key)
    token = dpop_token(http, provider, key)
    url = provider.api_base + "/nonce/whoami"
    challenged = dpop_call(http, key, token, url)
    assert_refused(challenged, 'DPoP error="use_dpop_nonce"', "this endpoint requires a DPoP nonce")
    api_nonce = challenged.headers["DPoP-Nonce"]
    assert api_nonce != token_nonce
    assert_refused(dpop_call(http, key, token, url, proof=key.proof("GET", url, token, nonce=token_nonce)),
                   'DPoP error="use_dpop_nonce"', "stale or unknown DPoP nonce")
    answer = dpop_call(http, key, token, url, proof=key.proof("GET", url, token, nonce=api_nonce))
    assert answer.status_code == 200 and answer.json()["jkt"] == key.thumbprint, answer.text
    assert bearer_call(http, bearer_token(http, provider), url).status_code == 200
    assert provider.api_stats(dpop=True) == {"calls": 4, "rejected": 2, "dpop_calls": 1, "nonce_challenges": 2}
    provider.reset()
    rotated = dpop_call(http, key, token, url, proof=key.proof("GET", url, token, nonce=api_nonce))
    assert_refused(rotated, 'DPoP error="use_dpop_nonce"', "stale or unknown DPoP nonce")
    assert rotated.headers["DPoP-Nonce"] not in (api_nonce, token_nonce)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
def test_echo_answers_what_it_was_sent_with_the_status_asked_for(http, provider, method):
    key = DpopKey()
    sent = dpop_call(http, key, dpop_token(http, provider, key), provider.api_base + "/echo?status=201&name=a%20b", method,
                     data="payload " + method, headers={"Content-Type": "text/plain"})
    assert sent.status_code == 201, sent.text
    if method != "HEAD":
        assert sent.json() == {"method": method, "path": "/echo", "query": "status=201&name=a%20b",
                               "content_type": "text/plain", "body": "payload " + method}
    echoed = bearer_call(http, bearer_token(http, provider), provider.api_base + "/echo", method)
    assert echoed.status_code == 200, echoed.text


@pytest.mark.parametrize("scheme", ["Bearer", "DPoP"])
def test_always_401_refuses_in_the_scheme_used(http, provider, scheme):
    key = DpopKey()
    url = provider.api_base + "/always-401"
    answer = (dpop_call(http, key, dpop_token(http, provider, key), url, "POST") if scheme == "DPoP"
              else bearer_call(http, bearer_token(http, provider), url, "POST"))
    assert_refused(answer, scheme + ' error="invalid_token", error_description="the test API refuses every token"',
                   "the test API refuses every token")


def test_revoked_tokens_are_refused_until_reset(http, provider):
    key = DpopKey()
    bearer, bound = bearer_token(http, provider), dpop_token(http, provider, key)
    assert provider.revoke_tokens() == 2
    assert_refused(bearer_call(http, bearer, provider.api_url),
                   'Bearer error="invalid_token", error_description="token revoked"', "token revoked")
    assert_refused(dpop_call(http, key, bound, provider.api_base + "/echo", "POST"),
                   'DPoP error="invalid_token", error_description="token revoked"', "token revoked")
    assert bearer_call(http, bearer_token(http, provider), provider.api_url).status_code == 200
    provider.reset()
    assert bearer_call(http, bearer, provider.api_url).status_code == 200
