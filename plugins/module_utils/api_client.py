# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A protected API called with the tokens of one TokenClient: the credential headers of each request, one fresh token
when the API refuses a cached one, and the server's DPoP nonce when it asks for one.

Sending is the caller's: the api_call action runs the request on the task's host, a test hands in a function.
Nothing here ever loops: at most one nonce answer and one fresh token per call.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, redact, shown
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_in_output
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient


class ApiRefused(OAuth2Error):
    """The API refused the token for good; answer is its last answer, for a task that expects a 401."""

    def __init__(self, message: str, answer: Dict[str, Any]) -> None:
        super().__init__(message)
        self.answer = answer


# send(credential headers) -> the answer: status and headers (lower-case names), or failed and msg when there was none.
Send = Callable[[Dict[str, str]], Dict[str, Any]]


class ApiClient:
    """Calls one API endpoint with the token of tokens, a TokenClient."""

    def __init__(self, tokens: TokenClient) -> None:
        self._tokens = tokens
        self.token_refreshed = False

    def call(self, method: str, url: str, send: Send) -> Dict[str, Any]:
        """The API's answer; a 401 that neither a nonce nor one fresh token cures raises ApiRefused."""
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import nonce_requested  # pylint: disable=import-outside-toplevel

        token = self._tokens.get_token()
        nonce: Optional[str] = None
        nonce_answered = False
        while True:
            answer = send(self._credentials(token, method, url, nonce))
            if answer.get("failed") or answer.get("status") != 401:
                return answer
            asked = nonce_requested(401, answer.get("headers") or {}) if self._tokens.dpop_key else None
            if asked and not nonce_answered:
                nonce, nonce_answered = asked, True
                continue
            if self._tokens.from_cache and not self.token_refreshed:
                # Revoked, rotated or cut short at the provider: the cached entry is replaced, for every process.
                token = self._tokens.get_token(rejected=token["access_token"])
                self.token_refreshed = True
                continue
            # The API's own words, in case it echoes what it was sent: no token or proof is shown.
            proofs = tuple(self._tokens.dpop_key.proofs) if self._tokens.dpop_key else ()
            raise ApiRefused(redact(self._refusal(url, answer.get("headers") or {}), (token["access_token"],) + proofs), answer)

    def _credentials(self, token: Mapping[str, Any], method: str, url: str, nonce: Optional[str]) -> Dict[str, str]:
        """Authorization, and for a DPoP-bound token a proof of this very request."""
        headers = {"Authorization": token["authorization"]}
        key = self._tokens.dpop_key
        if key is not None:
            headers["DPoP"] = key.proof(method, url, token["access_token"], nonce)
            mask_in_output((headers["DPoP"],))
        return headers

    def _refusal(self, url: str, headers: Mapping[str, str]) -> str:
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import challenge  # pylint: disable=import-outside-toplevel

        details = challenge(headers)
        reason = ": ".join(shown(details[name], 200) for name in ("error", "error_description") if details.get(name)) or "no WWW-Authenticate error"
        when = "again with a fresh token" if self.token_refreshed else "although the token was obtained just now"
        return ("API %s refused the token with HTTP 401 (%s) %s: check that the client's scope, resource or audience grant "
                "access to this API." % (url, reason, when))
