# SPDX-License-Identifier: GPL-3.0-or-later
"""ApiClient: tokens from a real TokenClient on the fake provider with a cache, the API a scripted send function.
What is counted is what costs: requests to the token endpoint and requests to the API, never more than one of each extra."""

from __future__ import annotations

import pytest

from ansible_collections.oauth2.client_credentials.plugins.module_utils.api_client import ApiClient, ApiRefused
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient

URL = "https://api.example/v1/things"
OK = {"status": 200, "headers": {"content-type": "application/json"}, "content": "{}"}
EXPIRED = {"status": 401, "headers": {"www-authenticate": 'Bearer error="invalid_token", error_description="The access token expired"'}}


def nonce_challenge(nonce):
    """RFC 9449 section 9, as send_request describes it: header names in lower case."""
    return {"status": 401, "headers": {"www-authenticate": 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
                                       "dpop-nonce": nonce}}


class Api:
    """Answers each send with the next scripted answer (or what a callable returns), the last one for good; records the credentials it got."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def __call__(self, credentials):
        assert len(self.sent) < 10, "ApiClient loops"
        self.sent.append(credentials)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return dict(answer() if callable(answer) else answer)


def tokens(provider, tmp_path, **overrides) -> TokenClient:
    settings = {"token_url": provider.base_url + "/token", "client_id": "app", "client_secret": "api-Secret-Value-01",
                "cache_dir": str(tmp_path / "cache")}
    settings.update(overrides)
    return TokenClient(ClientOptions.from_mapping(settings))


@pytest.fixture
def issued(provider):
    """tok-1 first, tok-2 ever after; Bearer unless a test says DPoP."""
    def issue(token_type="Bearer"):
        provider.answer("/token", json_body={"access_token": "tok-1", "token_type": token_type, "expires_in": 600}, once=True)
        provider.answer("/token", json_body={"access_token": "tok-2", "token_type": token_type, "expires_in": 600})
    return issue


def cached(provider, tmp_path, **overrides):
    """A token another process put in the cache; the client that runs the call has not seen it."""
    tokens(provider, tmp_path, **overrides).get_token()
    return ApiClient(tokens(provider, tmp_path, **overrides))


def token_requests(provider):
    return len([seen for seen in provider.requests if seen.path == "/token"])


@pytest.mark.parametrize("answer", [OK, {"status": 403, "headers": {}}, {"status": 500, "headers": {}}, {"failed": True, "msg": "unreachable"}],
                         ids=["200", "403", "500", "no-answer"])
def test_anything_but_a_401_passes_through_untouched(provider, tmp_path, issued, answer):
    issued()
    api = ApiClient(tokens(provider, tmp_path))
    sent = Api(answer)
    assert api.call("GET", URL, sent) == answer
    assert sent.sent == [{"Authorization": "Bearer tok-1"}]
    assert (api.token_refreshed, token_requests(provider)) == (False, 1)


def test_a_401_to_a_cached_token_costs_one_new_token_and_one_retry(provider, tmp_path, issued):
    issued()
    api = cached(provider, tmp_path)
    sent = Api(EXPIRED, OK)
    assert api.call("GET", URL, sent) == OK
    assert [credentials["Authorization"] for credentials in sent.sent] == ["Bearer tok-1", "Bearer tok-2"]
    assert (api.token_refreshed, token_requests(provider)) == (True, 2)
    assert tokens(provider, tmp_path).get_token()["access_token"] == "tok-2", "the refused token is gone from the cache for everyone"


@pytest.mark.parametrize("warm, sends, token_calls, refreshed, when", [
    (True, 2, 2, True, "again with a fresh token"),
    (False, 1, 1, False, "although the token was obtained just now"),
], ids=["cached-token-refused-twice", "fresh-token-refused"])
def test_a_401_that_a_fresh_token_does_not_cure_is_refused_naming_the_url_and_the_error(
        provider, tmp_path, issued, warm, sends, token_calls, refreshed, when):
    issued()
    api = cached(provider, tmp_path) if warm else ApiClient(tokens(provider, tmp_path))
    sent = Api(EXPIRED)
    with pytest.raises(ApiRefused) as caught:
        api.call("GET", URL, sent)
    assert str(caught.value) == ("API %s refused the token with HTTP 401 (invalid_token: The access token expired) %s: check that the client's "
                                 "scope, resource or audience grant access to this API." % (URL, when))
    assert caught.value.answer == EXPIRED, "the answer stays available to a task that expects a 401"
    assert (len(sent.sent), token_requests(provider), api.token_refreshed) == (sends, token_calls, refreshed)


def test_a_replacement_another_process_already_fetched_is_the_one_refresh(provider, tmp_path, issued):
    """Meanwhile another process was refused tok-1 too and cached tok-2: this call takes tok-2 from the cache, and when the
    API refuses that as well, it fails instead of asking the provider for a third token."""
    issued()
    api = cached(provider, tmp_path)

    def refused_while_another_process_refreshes():
        tokens(provider, tmp_path).get_token(rejected="tok-1")
        return EXPIRED

    sent = Api(refused_while_another_process_refreshes, EXPIRED)
    with pytest.raises(ApiRefused, match=r"again with a fresh token"):
        api.call("GET", URL, sent)
    assert [credentials["Authorization"] for credentials in sent.sent] == ["Bearer tok-1", "Bearer tok-2"]
    assert token_requests(provider) == 2


def test_a_401_without_a_challenge_says_so(provider, tmp_path, issued):
    issued()
    with pytest.raises(ApiRefused, match=r"refused the token with HTTP 401 \(no WWW-Authenticate error\) although"):
        ApiClient(tokens(provider, tmp_path)).call("GET", URL, Api({"status": 401, "headers": {}}))


def test_every_request_carries_a_fresh_proof_of_itself_and_of_its_token(provider, tmp_path, issued, dpop_server):
    """The cached token is proved with the key cached with it; the new token after a refusal with its own new key."""
    issued("DPoP")
    other_process = tokens(provider, tmp_path, dpop=True)
    other_process.get_token()
    this_process = tokens(provider, tmp_path, dpop=True)
    sent = Api(EXPIRED, OK)
    ApiClient(this_process).call("post", URL + "?page=2#top", sent)
    assert [credentials["Authorization"] for credentials in sent.sent] == ["DPoP tok-1", "DPoP tok-2"]
    first, second = [dpop_server.checked(credentials["DPoP"]) for credentials in sent.sent]
    for claims, token in ((first[1], "tok-1"), (second[1], "tok-2")):
        assert (claims["htm"], claims["htu"], claims["ath"]) == ("POST", URL, dpop_server.hash(token))
        assert "nonce" not in claims
    assert first[1]["jti"] != second[1]["jti"]
    assert dpop_server.thumbprint(first[0]["jwk"]) == other_process.dpop_key.thumbprint
    assert dpop_server.thumbprint(second[0]["jwk"]) == this_process.dpop_key.thumbprint != other_process.dpop_key.thumbprint


def test_a_nonce_challenge_is_answered_once_with_the_nonce(provider, tmp_path, issued, dpop_server):
    issued("DPoP")
    api = ApiClient(tokens(provider, tmp_path, dpop=True))
    sent = Api(nonce_challenge("n-1"), OK)
    assert api.call("GET", URL, sent) == OK
    first, second = [dpop_server.checked(credentials["DPoP"])[1] for credentials in sent.sent]
    assert ("nonce" in first, second["nonce"], second["ath"]) == (False, "n-1", dpop_server.hash("tok-1"))
    assert first["jti"] != second["jti"]
    assert (token_requests(provider), api.token_refreshed) == (1, False)


@pytest.mark.parametrize("warm, sends, token_calls", [(False, 2, 1), (True, 3, 2)], ids=["fresh-token", "cached-token"])
def test_a_server_that_keeps_asking_for_a_nonce_is_not_looped_on(provider, tmp_path, issued, warm, sends, token_calls):
    """One nonce answered, at most one fresh token, then the refusal: a misbehaving server costs a bounded number of requests."""
    issued("DPoP")
    api = cached(provider, tmp_path, dpop=True) if warm else ApiClient(tokens(provider, tmp_path, dpop=True))
    sent = Api(nonce_challenge("n-1"), nonce_challenge("n-2"), nonce_challenge("n-3"), nonce_challenge("n-4"))
    with pytest.raises(ApiRefused, match=r"HTTP 401 \(use_dpop_nonce: Resource server requires nonce in DPoP proof\)"):
        api.call("GET", URL, sent)
    assert (len(sent.sent), token_requests(provider)) == (sends, token_calls)


def test_a_bearer_token_ignores_a_nonce_challenge(provider, tmp_path, issued):
    """Without a DPoP key there is no proof to put a nonce in."""
    issued()
    sent = Api(nonce_challenge("n-1"))
    with pytest.raises(ApiRefused):
        ApiClient(tokens(provider, tmp_path)).call("GET", URL, sent)
    assert sent.sent == [{"Authorization": "Bearer tok-1"}]
