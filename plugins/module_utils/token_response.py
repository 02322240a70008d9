# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turns the token endpoint's answer into the token result dict every front end returns, or one clear error."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Sequence

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, redact
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import HttpResponse

# What to do about the standard error codes (RFC 6749 section 5.2), said once here for every front end.
ERROR_HINTS = {
    "invalid_client": "check client_id and client_secret, and auth_method: the client may be registered for client_secret_post",
    "unauthorized_client": "allow the client credentials grant for this client at the provider",
    "unsupported_grant_type": "enable the client credentials grant for this client at the provider",
    "invalid_scope": "request only scopes the provider grants this client",
    "invalid_target": "check resource and audience against the APIs the provider knows",
    "invalid_request": "check token_url, auth_method and extra_params",
}

MAX_DESCRIPTION_CHARS = 300


def parse_json_object(response: HttpResponse, what: str) -> Dict[str, Any]:
    """The body as a JSON object, or an error that says what came back instead (never the body itself)."""
    try:
        document = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        document = None
    if not isinstance(document, dict):
        raise OAuth2Error(
            "%s %s answered HTTP %d with %s (%s, %d bytes) instead of a JSON object: check that the URL is right."
            % (what, response.url, response.status, "no body" if not response.body else "a body",
               response.content_type or "no content type", len(response.body))
        )
    return document


def token_result(response: HttpResponse, now: float, sensitive_values: Sequence[str]) -> Dict[str, Any]:
    """The token result dict: access_token, token_type, expires_in, expires_at, scope, authorization, claims.

    now is when the request was sent; expiry counts from then. sensitive_values are blanked out of the
    provider's error text while it is still exactly as the provider wrote it.
    """
    document = parse_json_object(response, "Token endpoint")
    if "error" in document or not 200 <= response.status < 300:
        error_code = document.get("error")
        raise OAuth2Error(_refusal(response, document, sensitive_values),
                          redact(error_code, sensitive_values) if isinstance(error_code, str) else None)
    access_token = document.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise OAuth2Error(
            "Token endpoint %s answered HTTP %d without an access_token: check that token_url is the provider's token endpoint."
            % (response.url, response.status)
        )
    token_type = document.get("token_type") or "Bearer"
    if not isinstance(token_type, str):
        raise OAuth2Error("Token endpoint %s answered with a token_type that is not a string." % response.url)
    if token_type.lower() == "bearer":
        token_type = "Bearer"
    claims = unverified_claims(access_token)
    expires_in = _expires_in(document.get("expires_in"), claims, now, response.url)
    scope = document.get("scope")
    return {
        "access_token": access_token,
        "token_type": token_type,
        "expires_in": expires_in,
        "expires_at": _expires_at(expires_in, claims, now),
        "scope": scope if isinstance(scope, str) else None,
        "authorization": "%s %s" % (token_type, access_token),
        "claims": claims,
    }


def unverified_claims(access_token: str) -> Dict[str, Any]:
    """The JWT payload for display only; the signature is not checked, so nothing here may be trusted."""
    if access_token.count(".") != 2:
        return {}
    import jwt  # pylint: disable=import-outside-toplevel

    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _expires_in(value: Any, claims: Dict[str, Any], now: float, url: str) -> Optional[int]:
    """Seconds of life left; when the provider leaves expires_in out, the token's own exp claim tells."""
    if value is None:
        exp = claims.get("exp")
        if isinstance(exp, (int, float)) and not isinstance(exp, bool):
            return max(0, int(exp - now))
        return None
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = -1
    if isinstance(value, bool) or seconds < 0:
        raise OAuth2Error("Token endpoint %s answered with expires_in %r, which is not a number of seconds." % (url, value))
    return seconds


def _expires_at(expires_in: Optional[int], claims: Dict[str, Any], now: float) -> Optional[int]:
    """The earlier of what expires_in and the exp claim say, so a cached token is never trusted past either."""
    if expires_in is None:
        return None
    expires_at = int(now) + expires_in
    exp = claims.get("exp")
    if isinstance(exp, int) and not isinstance(exp, bool) and exp < expires_at:
        return exp
    return expires_at


def _refusal(response: HttpResponse, document: Dict[str, Any], sensitive_values: Sequence[str]) -> str:
    code = _one_line(document.get("error"), sensitive_values) or "without an OAuth error code"
    description = _one_line(document.get("error_description"), sensitive_values)
    hint = ERROR_HINTS.get(code)
    return "Token endpoint %s refused the request: HTTP %d %s%s%s" % (
        response.url,
        response.status,
        code,
        " (%s)" % description if description else "",
        "; %s." % hint if hint else ".",
    )


def _one_line(value: Any, sensitive_values: Sequence[str]) -> str:
    """Redacted first: a secret with a tab or double space, or one cut by the truncation, would escape redaction later."""
    if not isinstance(value, str):
        return ""
    text = " ".join(redact(value, sensitive_values).split())
    return text if len(text) <= MAX_DESCRIPTION_CHARS else text[:MAX_DESCRIPTION_CHARS] + "..."
