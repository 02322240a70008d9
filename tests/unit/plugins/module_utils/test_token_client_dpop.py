# SPDX-License-Identifier: GPL-3.0-or-later
"""TokenClient with dpop against the fake provider: the proof on the token request, the provider's nonce, the key kept
with its token in the cache, and a token the API refused replaced once for every process."""

from __future__ import annotations

import json
import os

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import DpopKey
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient

SECRET = "dpop-Secret-Value-0123"
RESULT_KEYS = {"access_token", "token_type", "expires_in", "expires_at", "scope", "authorization", "claims", "claims_verified"}


def key_pem(private_key) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode("ascii")


USER_KEY, OTHER_KEY = key_pem(ec.generate_private_key(ec.SECP256R1())), key_pem(ec.generate_private_key(ec.SECP384R1()))


def client(provider, tmp_path, **overrides) -> TokenClient:
    """One process's client; every client of a test shares the cache in tmp_path, as the processes of a play do."""
    settings = {"token_url": provider.base_url + "/token", "client_id": "app", "client_secret": SECRET, "dpop": True,
                "cache_dir": str(tmp_path / "cache")}
    settings.update(overrides)
    return TokenClient(ClientOptions.from_mapping(settings))


def issue(provider, token="tok-1", token_type="DPoP", once=False):
    provider.answer("/token", json_body={"access_token": token, "token_type": token_type, "expires_in": 600}, once=once)


def ask_for_nonce(provider, nonce, once=True):
    """RFC 9449 section 8: the error names use_dpop_nonce, the nonce comes as DPoP-Nonce; the description echoes the proof."""
    provider.answer("/token", status=400, headers={"DPoP-Nonce": nonce}, once=once, reply=lambda seen: json.dumps(
        {"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce in DPoP proof " + seen.headers["DPoP"]}).encode())


def proofs(provider, dpop_server):
    return [dpop_server.checked(seen.headers["DPoP"]) for seen in provider.requests]


@pytest.mark.parametrize("token_type", ["DPoP", "dpop"])
def test_the_token_request_carries_a_proof_and_a_dpop_token_is_presented_as_one(provider, tmp_path, dpop_server, token_type):
    issue(provider, token_type=token_type)
    tokens = client(provider, tmp_path)
    result = tokens.get_token()
    [(header, claims)] = proofs(provider, dpop_server)
    assert (claims["htm"], claims["htu"]) == ("POST", provider.base_url + "/token")
    assert "ath" not in claims and "nonce" not in claims
    assert dpop_server.thumbprint(header["jwk"]) == tokens.dpop_key.thumbprint
    assert (result["token_type"], result["authorization"]) == ("DPoP", "DPoP tok-1")
    assert set(result) == RESULT_KEYS, "the generated key stays out of the result"
    assert tokens.from_cache is False


def test_a_provider_that_issues_bearer_tokens_despite_the_proof_gives_a_bearer_token_without_a_key(provider, tmp_path):
    """Used as what it is, with a warning: the user asked for a sender-constrained token and did not get one."""
    issue(provider, token_type="Bearer")
    tokens = client(provider, tmp_path)
    assert tokens.get_token()["authorization"] == "Bearer tok-1"
    assert tokens.dpop_key is None
    assert [warning for warning in tokens.warnings if "dpop is true, but the provider issued a Bearer token" in warning]


def test_without_dpop_a_dpop_token_is_refused_and_not_cached(provider, tmp_path):
    """Without a key to prove it with, the token is useless; the next task asks again rather than reuse it."""
    issue(provider)
    for attempt in range(2):
        with pytest.raises(OAuth2Error, match=r"issued a DPoP token without being asked for one: set dpop: true"):
            client(provider, tmp_path, dpop=False).get_token()
    assert len(provider.requests) == 2 and "DPoP" not in provider.requests[0].headers


def test_the_providers_nonce_is_answered_once_with_a_new_proof_and_a_new_assertion(provider, tmp_path, dpop_server):
    """A provider refuses a proof or a client assertion whose jti it has seen, so the second request has new ones."""
    ask_for_nonce(provider, "n-1")
    issue(provider)
    assertion_key = key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    tokens = client(provider, tmp_path, client_secret=None, auth_method="private_key_jwt", private_key=assertion_key)
    assert tokens.get_token()["access_token"] == "tok-1"
    (first_header, first), (second_header, second) = proofs(provider, dpop_server)
    assert ("nonce" in first, second["nonce"]) == (False, "n-1")
    assert first["jti"] != second["jti"]
    assert first_header["jwk"] == second_header["jwk"] and dpop_server.thumbprint(second_header["jwk"]) == tokens.dpop_key.thumbprint
    assertion_ids = [jwt.decode(dict(seen.form)["client_assertion"], options={"verify_signature": False})["jti"] for seen in provider.requests]
    assert assertion_ids[0] != assertion_ids[1]


def test_a_second_nonce_request_fails_in_one_line_without_the_proof(provider, tmp_path):
    ask_for_nonce(provider, "n-2", once=False)
    with pytest.raises(OAuth2Error, match=r"^Token endpoint \S+ refused the request: HTTP 400 use_dpop_nonce \(Authorization server requires "
                                          r"nonce in DPoP proof \*{8}") as caught:
        client(provider, tmp_path).get_token()
    message = str(caught.value)
    assert len(provider.requests) == 2 and "\n" not in message and caught.value.error_code == "use_dpop_nonce"
    assert not any(seen.headers["DPoP"][:40] in message for seen in provider.requests)


def test_a_bad_dpop_private_key_is_refused_before_any_request_without_showing_it(provider, tmp_path):
    issue(provider)
    broken = USER_KEY.replace("MI", "XX", 1)
    with pytest.raises(OAuth2Error, match=r"^dpop_private_key is not a PEM private key") as caught:
        client(provider, tmp_path, dpop_private_key=broken).get_token()
    assert provider.requests == []
    assert not any(line in str(caught.value) for line in broken.splitlines() if not line.startswith("-----"))


def test_the_generated_key_travels_with_its_token_through_the_cache_and_no_further(provider, tmp_path, dpop_server):
    """Another process (here a second client) gets the token and the key it is bound to, and makes no request."""
    issue(provider)
    first, second = client(provider, tmp_path), client(provider, tmp_path)
    first_result, second_result = first.get_token(), second.get_token()
    assert len(provider.requests) == 1 and (first.from_cache, second.from_cache) == (False, True)
    assert second_result == first_result and set(second_result) == RESULT_KEYS
    assert second.dpop_key.thumbprint == first.dpop_key.thumbprint == dpop_server.thumbprint(proofs(provider, dpop_server)[0][0]["jwk"])
    key_lines = [line for line in first.dpop_key.private_key_pem.splitlines() if not line.startswith("-----")]
    cache = tmp_path / "cache"
    stored = b"".join((cache / name).read_bytes() for name in os.listdir(cache) if (cache / name).is_file())
    assert not any(line.encode() in stored for line in key_lines), "the cache keeps the key encrypted"


@pytest.mark.parametrize("first, second, requests, bound_to", [
    ({"dpop_private_key": USER_KEY}, {"dpop_private_key": USER_KEY}, 1, USER_KEY),
    ({"dpop_private_key": USER_KEY}, {"dpop_private_key_path": "user-key.pem"}, 1, USER_KEY),
    ({"dpop_private_key": USER_KEY}, {"dpop_private_key": OTHER_KEY}, 2, OTHER_KEY),
    ({"dpop_private_key": USER_KEY}, {}, 2, None),
], ids=["same-key", "same-key-from-a-file", "other-key", "given-then-generated"])
def test_a_given_key_chooses_the_cache_entry_by_its_content(provider, tmp_path, first, second, requests, bound_to):
    """A token is good only with the key it is bound to: a token cached for one key is never handed out with another."""
    (tmp_path / "user-key.pem").write_text(USER_KEY)
    second = {name: str(tmp_path / value) if name.endswith("_path") else value for name, value in second.items()}
    issue(provider)
    client(provider, tmp_path, **first).get_token()
    tokens = client(provider, tmp_path, **second)
    tokens.get_token()
    assert len(provider.requests) == requests
    if bound_to:
        assert tokens.dpop_key.thumbprint == DpopKey(bound_to).thumbprint
    else:
        assert tokens.dpop_key.thumbprint != DpopKey(USER_KEY).thumbprint


def test_dpop_and_bearer_tokens_of_one_client_are_different_entries(provider, tmp_path):
    issue(provider, token="bearer-tok", token_type="Bearer")
    client(provider, tmp_path, dpop=False).get_token()
    issue(provider)
    assert client(provider, tmp_path).get_token()["authorization"] == "DPoP tok-1"


@pytest.mark.parametrize("dpop", [True, False])
def test_a_rejected_token_is_replaced_once_for_every_process(provider, tmp_path, dpop):
    """The process whose API call was refused gets a new token; another refused the same token finds it already replaced."""
    token_type = "DPoP" if dpop else "Bearer"
    issue(provider, "tok-1", token_type, once=True)
    issue(provider, "tok-2", token_type)
    refused, late = client(provider, tmp_path, dpop=dpop), client(provider, tmp_path, dpop=dpop)
    assert (refused.get_token()["access_token"], late.get_token()["access_token"], late.from_cache) == ("tok-1", "tok-1", True)
    assert (refused.get_token(rejected="tok-1")["access_token"], refused.from_cache) == ("tok-2", False)
    assert (late.get_token(rejected="tok-1")["access_token"], late.from_cache) == ("tok-2", True)
    assert len(provider.requests) == 2
    if dpop:
        assert late.dpop_key.thumbprint == refused.dpop_key.thumbprint, "the new token's own key comes with it"


def test_without_a_cache_a_rejected_token_is_simply_a_new_request(provider, tmp_path):
    issue(provider)
    tokens = client(provider, tmp_path, cache=False)
    tokens.get_token()
    tokens.get_token(rejected="tok-1")
    assert len(provider.requests) == 2 and tokens.from_cache is False
