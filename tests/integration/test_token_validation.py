# SPDX-License-Identifier: GPL-3.0-or-later
"""Token validation and the issuer mix-up defence against the real provider: playbooks as users write them, and
the core driven directly where a test needs time to pass (expiry, key rotation) or a token to be forged."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import DEFAULT_ALGORITHMS, ClientOptions, TokenExpectations
from ansible_collections.oauth2.client_credentials.plugins.module_utils.discovery import fetch_jwks
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_validation import verify_token
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import HttpResponse, Transport
import harness
from harness import Provider

PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_validate_token: true
  tasks:
"""


def headers(tokens: List[str]) -> List[str]:
    return sorted(jwt.get_unverified_header(token)["alg"] for token in tokens)


def assert_no_tokens(ansible, run) -> None:
    assert run.tokens() == set()
    for token in ansible.provider.issued_tokens():
        assert token not in run.everything and token.split(".")[2] not in run.everything


def test_rs256_and_es256_tokens_verify_in_a_playbook(ansible):
    ansible.write_vaulted_variables()
    run = ansible.playbook(PLAY + """
    - name: Tokens for two APIs, each verified before use
      ansible.builtin.set_fact:
        rs: "{{ lookup('oauth2.client_credentials.token', output='full', resource=['https://api.test/']) }}"
        es: "{{ lookup('oauth2.client_credentials.token', output='full', resource='https://api-es.test/') }}"
        plain: "{{ lookup('oauth2.client_credentials.token', output='full', validate_token=false) }}"
      no_log: true
    - ansible.builtin.assert:
        that:
          - rs.claims_verified and es.claims_verified
          - not plain.claims_verified
          - rs.claims.aud == 'https://api.test/' and es.claims.aud == 'https://api-es.test/'
          - rs.claims.iss == issuer and rs.claims.client_id == basic_client_id
          - (rs.access_token | oauth2.client_credentials.jwt_claims) == rs.claims
        quiet: true
    - name: The module verifies too
      oauth2.client_credentials.token:
        resource: https://api-es.test/
        fact_name: ""
      register: module
    - ansible.builtin.assert:
        that: module.token.claims_verified and module.token.claims.aud == 'https://api-es.test/'
        quiet: true
    - name: A verified RS256 token works at the protected API
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ rs.authorization }}"
""")
    assert run.returncode == 0, run.output
    assert headers(ansible.provider.issued_tokens()) == ["ES256", "RS256", "RS256"]
    assert_no_tokens(ansible, run)
    ansible.assert_no_secrets(run)


def test_wrong_audience_and_issuer_fail_naming_the_check(ansible):
    ansible.write_vaulted_variables()
    run = ansible.playbook(PLAY + """
    - name: The lookup
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', expected_audience='https://other.test/') }}"
      ignore_errors: true
    - name: The module
      oauth2.client_credentials.token:
        expected_issuer: https://elsewhere.test
      ignore_errors: true
""")
    assert run.returncode == 0, run.output
    assert "Token validation failed: token audience https://api.test/ is not the expected https://other.test/." in run.output
    assert "Token validation failed: token issuer %s is not the expected https://elsewhere.test." % ansible.provider.issuer in run.output
    assert run.output.count("...ignoring") == 2
    assert len(ansible.provider.issued_tokens()) == 2
    assert_no_tokens(ansible, run)


def test_an_unverified_cached_token_is_not_handed_out_while_validating(ansible):
    ansible.write_vaulted_variables()
    run = ansible.playbook(PLAY + """
    - name: First without validation (cached), then with it (not that one), then with it again (the verified one, cached)
      ansible.builtin.set_fact:
        first: "{{ lookup('oauth2.client_credentials.token', output='full', validate_token=false) }}"
        second: "{{ lookup('oauth2.client_credentials.token', output='full') }}"
        third: "{{ lookup('oauth2.client_credentials.token', output='full') }}"
      no_log: true
    - ansible.builtin.assert:
        that:
          - not first.claims_verified and second.claims_verified and third.claims_verified
          - first.access_token != second.access_token and second.access_token == third.access_token
        quiet: true
""")
    assert run.returncode == 0, run.output
    assert ansible.provider.token_requests() == 2


def test_a_discovery_document_of_another_issuer_is_refused(ansible):
    """localhost reaches the same provider, whose document names 127.0.0.1: exactly what a mix-up looks like."""
    ansible.write_vaulted_variables()
    mixed_up = ansible.provider.issuer.replace("127.0.0.1", "localhost")
    run = ansible.playbook(PLAY.replace('"{{ issuer }}"', mixed_up) + """
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', validate_token=false) }}"
""")
    assert run.returncode != 0
    assert ("OpenID discovery document %s/.well-known/openid-configuration is for issuer %s, not the configured issuer %s"
            % (mixed_up, ansible.provider.issuer, mixed_up)) in run.output
    assert ansible.provider.token_requests() == 0


def test_jwt_claims_refuses_what_is_not_a_jwt_without_showing_it(ansible):
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ 'not-a-jwt-but-a-secret' | oauth2.client_credentials.jwt_claims }}"
""", vault=False)
    assert run.returncode != 0
    assert "jwt_claims: The value (22 characters, not shown) is not a JWT" in run.output
    assert "not-a-jwt-but-a-secret" not in run.output.replace("'not-a-jwt-but-a-secret' |", "")


# -- the core directly ---------------------------------------------------------------------------

class CountingTransport(Transport):
    """The collection's transport, remembering which URLs it fetched."""

    def __init__(self, ca_path: str) -> None:
        super().__init__(ca_path=ca_path)
        self.fetched: List[str] = []

    def get(self, url: str, what: str, deadline: Optional[float] = None) -> HttpResponse:
        self.fetched.append(url)
        return super().get(url, what, deadline)


def core_options(provider: Provider, cache_dir: Any, **values: Any) -> ClientOptions:
    client = provider.clients["basic"]
    settings: Dict[str, Any] = {"issuer": provider.issuer, "ca_path": str(provider.ca_path), "client_id": client["client_id"],
                                "client_secret": client["client_secret"], "cache_dir": str(cache_dir), "validate_token": True}
    settings.update(values)
    return ClientOptions.from_mapping(settings)


def real_jwks(provider: Provider) -> Dict[str, Any]:
    return fetch_jwks(Transport(ca_path=str(provider.ca_path)), provider.issuer + "/jwks")


def expectations(provider: Provider, leeway: float = 30.0) -> TokenExpectations:
    return TokenExpectations(issuer=provider.issuer, audience=None, algorithms=DEFAULT_ALGORITHMS, leeway=leeway, jwks_url=None)


def refused(provider: Provider, token: str, leeway: float = 30.0) -> str:
    jwks = real_jwks(provider)
    try:
        verify_token(token, expectations(provider, leeway), lambda recent: jwks, provider.issuer + "/jwks")
    except OAuth2Error as exc:
        assert token not in str(exc) and token.split(".")[1] not in str(exc)
        return str(exc)
    raise AssertionError("the token was accepted")


def test_an_expired_token_is_refused(provider, tmp_path):
    """The short-lived resource's token (1 s) is fetched unverified, then verified once it has expired."""
    token = TokenClient(core_options(provider, tmp_path, validate_token=False, cache=False, resource="https://api-short.test/")).get_token()
    assert token["expires_in"] == 1
    time.sleep(2.5)
    expired = "Token validation failed: token expired at %d (exp)" % token["claims"]["exp"]
    assert refused(provider, token["access_token"], leeway=0).startswith(expired)


def _sign(header: Dict[str, Any], payload: str, sign) -> str:
    encoded = jwt.utils.base64url_encode(json.dumps(header).encode()).decode()
    signature = sign(("%s.%s" % (encoded, payload)).encode())
    return "%s.%s.%s" % (encoded, payload, jwt.utils.base64url_encode(signature).decode())


def test_forged_tokens_are_refused(provider, tmp_path):
    """A real token's claims under forged signatures: alg none, HS256 keyed with the provider's public key, and an
    RSA key of the attacker's, with the provider's kid and with a kid of its own."""
    real = TokenClient(core_options(provider, tmp_path, validate_token=False, cache=False)).get_token()["access_token"]
    header, payload = jwt.get_unverified_header(real), real.split(".")[1]
    published = next(key for key in real_jwks(provider)["keys"] if key["kid"] == header["kid"])
    public_pem = jwt.algorithms.RSAAlgorithm.from_jwk(published).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256 = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    hs256 = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256)
    assert "algorithm none is not one of validation_algorithms" in refused(provider, _sign(dict(header, alg="none"), payload, lambda _: b""))
    assert "algorithm HS256 is not one of validation_algorithms" in refused(
        provider, _sign(dict(header, alg="HS256"), payload, lambda data: hs256.sign(data, public_pem)))
    assert "token signature does not verify with key %s" % header["kid"] in refused(
        provider, _sign(header, payload, lambda data: rs256.sign(data, attacker)))
    assert "token signing key kid attacker is not in the JWKS" in refused(
        provider, _sign(dict(header, kid="attacker"), payload, lambda data: rs256.sign(data, attacker)))


def test_a_restarted_provider_with_a_new_key_is_followed_after_one_refetch(tmp_path, monkeypatch):
    """The cached JWKS lacks the new key: fetched again once (the cached copy being over a minute old), then it passes.

    The provider comes back with its TLS certificate, as a real one does: the CA trusted is part of the cache entry's identity.
    """
    now = [time.time()]
    with Provider(tmp_path / "first") as first:
        port = int(first.issuer.rsplit(":", 1)[1])
        transport = CountingTransport(str(first.ca_path))
        before = TokenClient(core_options(first, tmp_path / "cache"), transport=transport, clock=lambda: now[0]).get_token()
    monkeypatch.setattr(harness, "make_tls_material", lambda directory: first.tls)
    with Provider(tmp_path / "second", oidc_port=port) as second:
        assert second.issuer == first.issuer
        now[0] += 30
        # A new token (refresh_margin makes the cached one too old) with the new key, while the JWKS is 30 s old: refused.
        young = CountingTransport(str(second.ca_path))
        try:
            TokenClient(core_options(second, tmp_path / "cache", refresh_margin=10 ** 6), transport=young, clock=lambda: now[0]).get_token()
            raise AssertionError("a token signed with a key missing from a JWKS fetched 30 s ago was accepted")
        except OAuth2Error as exc:
            assert "is not in the JWKS %s/jwks, also not after fetching it again" % second.issuer in str(exc)
        assert young.fetched == []
        now[0] += 31
        after_transport = CountingTransport(str(second.ca_path))
        after = TokenClient(core_options(second, tmp_path / "cache", refresh_margin=10 ** 6), transport=after_transport,
                            clock=lambda: now[0]).get_token()
    assert before["claims_verified"] and after["claims_verified"]
    assert jwt.get_unverified_header(before["access_token"])["kid"] != jwt.get_unverified_header(after["access_token"])["kid"]
    assert after_transport.fetched == [second.issuer + "/jwks"]
