# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turns the token endpoint's answer into the token result dict every front end returns, or one clear error."""

from __future__ import annotations

import json
import math
from typing import Any, Dict, Mapping, Optional, Sequence

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, redact
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import HttpResponse

# What to do about the standard error codes (RFC 6749 section 5.2), said once here for every front end; the hint for
# invalid_client is the authentication method's own (ClientAuth.refusal_hint).
ERROR_HINTS = {
    "unauthorized_client": "allow the client credentials grant for this client at the provider",
    "unsupported_grant_type": "enable the client credentials grant for this client at the provider",
    "invalid_scope": "request only scopes the provider grants this client",
    "invalid_target": "check resource and audience against the APIs the provider knows",
    "invalid_request": "check token_url, auth_method and extra_params",
    "invalid_dpop_proof": "the provider requires DPoP for this client: set dpop: true",
}

MAX_DESCRIPTION_CHARS = 300
# No OAuth or OpenID document nests more than a few levels; far deeper JSON would exhaust Python's recursion limit
# in the parser, or later in whatever walks it (the cache, Ansible's handling of results).
MAX_JSON_DEPTH = 32
# Ten years: a longer lifetime is no real token's, and an expiry beyond it would not fit the cache's header.
MAX_LIFETIME = 10 * 365 * 86400
# Token types that need a proof with every API call, which a header alone cannot give; DPoP only where asked for.
PROOF_OF_POSSESSION_TYPES = ("dpop", "mac", "pop")


def parse_json_object(response: HttpResponse, what: str) -> Dict[str, Any]:
    """The body as a JSON object, or an error that says what came back instead (never the body itself)."""
    try:
        document = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        document = None
    except RecursionError:
        document = _TOO_DEEP
    if document is _TOO_DEEP or isinstance(document, dict) and _json_depth(document) > MAX_JSON_DEPTH:
        raise OAuth2Error(
            "%s %s answered HTTP %d with JSON nested more than %d levels deep (%d bytes), which is no OAuth response: check that the URL is right."
            % (what, response.url, response.status, MAX_JSON_DEPTH, len(response.body))
        )
    if not isinstance(document, dict):
        raise OAuth2Error(
            "%s %s answered HTTP %d with %s (%s, %d bytes) instead of a JSON object: check that the URL is right."
            % (what, response.url, response.status, "no body" if not response.body else "a body",
               response.content_type or "no content type", len(response.body))
        )
    return document


_TOO_DEEP = object()


def _json_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar is 0), counted without recursion, so any depth can be measured."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, (dict, list)):
            deepest = max(deepest, depth)
            pending.extend((item, depth + 1) for item in (current.values() if isinstance(current, dict) else current))
    return deepest


def oauth_error(response: HttpResponse) -> Optional[str]:
    """The OAuth error code of an answer, if it is a JSON object that has one; None for anything else."""
    try:
        document = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    code = document.get("error") if isinstance(document, dict) else None
    return code if isinstance(code, str) else None


def token_result(response: HttpResponse, now: float, sensitive_values: Sequence[str], dpop: bool = False,
                 client_refused_hint: str = "check client_id and the client's credentials") -> Dict[str, Any]:
    """The token result dict: access_token, token_type, expires_in, expires_at, scope, authorization, claims, claims_verified.

    now is when the request was sent; expiry counts from then. sensitive_values are blanked out of the
    provider's error text while it is still exactly as the provider wrote it. dpop says the request carried a DPoP
    proof, so a DPoP token is what was asked for. client_refused_hint says what to check on invalid_client.
    """
    document = parse_json_object(response, "Token endpoint")
    if "error" in document or not 200 <= response.status < 300:
        error_code = document.get("error")
        raise OAuth2Error(_refusal(response, document, sensitive_values, dict(ERROR_HINTS, invalid_client=client_refused_hint)),
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
    if dpop and token_type.lower() == "dpop":
        token_type = "DPoP"
    elif token_type.lower() == "dpop":
        raise OAuth2Error(
            "Token endpoint %s issued a DPoP token without being asked for one: set dpop: true, and call the API with "
            "oauth2.client_credentials.api_call, which makes the proof every request needs." % response.url
        )
    elif token_type.lower() in PROOF_OF_POSSESSION_TYPES:
        raise OAuth2Error(
            "Token endpoint %s issued a %s token, which must be presented with a proof of possession that this collection "
            "cannot make: configure the client at the provider for Bearer tokens." % (response.url, _one_line(token_type, sensitive_values))
        )
    if token_type.lower() == "bearer":
        token_type = "Bearer"
    claims = unverified_claims(access_token)
    exp = _epoch_seconds(claims.get("exp"), now, response.url)
    expires_in = _expires_in(document.get("expires_in"), exp, now, response.url)
    scope = document.get("scope")
    return {
        "access_token": access_token,
        "token_type": token_type,
        "expires_in": expires_in,
        "expires_at": _expires_at(expires_in, exp, now),
        "scope": scope if isinstance(scope, str) else None,
        "authorization": "%s %s" % (token_type, access_token),
        "claims": claims,
        "claims_verified": False,
    }


def unverified_claims(access_token: str) -> Dict[str, Any]:
    """The JWT payload for display only; the signature is not checked, so nothing here may be trusted."""
    try:
        return jwt_payload(access_token)
    except OAuth2Error:
        return {}


def jwt_payload(value: str) -> Dict[str, Any]:
    """The claims of a JWT, decoded without verification; the error never shows the value, which may be a token."""
    import jwt  # pylint: disable=import-outside-toplevel

    try:
        claims = jwt.decode(value, options={"verify_signature": False}) if value.count(".") == 2 else None
    except (jwt.PyJWTError, RecursionError):
        claims = None
    if not isinstance(claims, dict) or _json_depth(claims) > MAX_JSON_DEPTH:
        raise OAuth2Error("The value (%d characters, not shown) is not a JWT: a JWT is three base64url parts separated by dots, "
                          "the second a JSON object nested at most %d levels deep." % (len(value), MAX_JSON_DEPTH))
    return claims


def _epoch_seconds(exp: Any, now: float, url: str) -> Optional[int]:
    """The token's exp claim, when it has one, as whole epoch seconds; nonsense there would keep a token cached forever."""
    if exp is None:
        return None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or not 0 <= exp <= now + MAX_LIFETIME:
        raise OAuth2Error(
            "Token endpoint %s issued a token whose exp claim is not a time within %d years: report it to the provider."
            % (url, MAX_LIFETIME // (365 * 86400))
        )
    return int(exp)


def _expires_in(value: Any, exp: Optional[int], now: float, url: str) -> Optional[int]:
    """Seconds of life left; when the provider leaves expires_in out, the token's own exp claim tells.

    A number, or a string of digits (as some providers send), from 0 to MAX_LIFETIME: inf, nan, 1e300 and
    negative values would break the expiry arithmetic of the cache and of the playbooks that read it.
    """
    if value is None:
        return None if exp is None else max(0, int(exp - now))
    seconds = value
    if isinstance(value, str) and value.strip().isdigit():
        seconds = int(value)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_LIFETIME:
        raise OAuth2Error(
            "Token endpoint %s answered with expires_in %s, which is not a number of seconds from 0 to %d: report it to the provider."
            % (url, _shown(value), MAX_LIFETIME)
        )
    return int(seconds)


def _shown(value: Any) -> str:
    """A provider's value in a message: short, one line, and JSON-like (nan and inf as the provider wrote them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    text = json.dumps(value) if isinstance(value, (str, int, float)) else type(value).__name__
    return text if len(text) <= 40 else text[:40] + "..."


def _expires_at(expires_in: Optional[int], exp: Optional[int], now: float) -> Optional[int]:
    """The earlier of what expires_in and the exp claim say, so a cached token is never trusted past either."""
    if expires_in is None:
        return None
    expires_at = int(now) + expires_in
    return exp if exp is not None and exp < expires_at else expires_at


def _refusal(response: HttpResponse, document: Dict[str, Any], sensitive_values: Sequence[str], hints: Mapping[str, str]) -> str:
    code = _one_line(document.get("error"), sensitive_values) or "without an OAuth error code"
    description = _one_line(document.get("error_description"), sensitive_values)
    hint = hints.get(code)
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
