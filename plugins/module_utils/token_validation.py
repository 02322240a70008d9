# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verifies a JWT access token (RFC 9068) with the provider's published keys, before anyone relies on its claims.

PyJWT does the cryptography and the claim checks; this file decides which key and which algorithms may be used,
and turns every refusal into one line that names the failed check and never shows the token. What a token must
prove (TokenExpectations) is part of the options; this module, and PyJWT with it, is imported only when a token is
verified, so the front ends' cached path pays for neither.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import KEY_TYPES, TokenExpectations
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, shown
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_response import jwt_payload

# RFC 9068 section 4 asks for at+jwt; many providers still say JWT or nothing. Media types ignore case.
ACCEPTED_TYPES = ("at+jwt", "application/at+jwt", "jwt", "application/jwt")
FAILED = "Token validation failed: "


def verify_token(token: str, expected: TokenExpectations, jwks: Callable[[bool], Dict[str, Any]], jwks_url: str) -> Dict[str, Any]:
    """The token's claims once its signature and claims pass every check, else OAuth2Error naming the check.

    jwks(False) gives the provider's JWKS document as cached; jwks(True) one fetched within the last minute, asked
    for once when the token's key is not in the cached one, or its signature does not verify with the cached key
    (the provider may have rotated its keys, under the same kid or without kids).
    """
    import jwt  # pylint: disable=import-outside-toplevel

    try:
        header = jwt.get_unverified_header(token)
        # Its shape and depth first: PyJWT's decode below parses the payload with no bound on its nesting.
        jwt_payload(token)
    except (jwt.PyJWTError, RecursionError, OAuth2Error):
        raise OAuth2Error(FAILED + "the access token is not a JWT: turn validate_token off for providers that issue opaque tokens.") from None
    algorithm = header.get("alg")
    if algorithm not in expected.algorithms:
        raise OAuth2Error(FAILED + "token algorithm %s is not one of validation_algorithms (%s)."
                          % (shown(algorithm), ", ".join(expected.algorithms)))
    token_type = header.get("typ")
    if token_type is not None and (not isinstance(token_type, str) or token_type.lower() not in ACCEPTED_TYPES):
        raise OAuth2Error(FAILED + "token type (typ) %s is neither at+jwt nor JWT." % shown(token_type))
    kid = header.get("kid")
    tried: List[Dict[str, Any]] = []
    for recent in (False, True):
        for jwk in _signing_keys(jwks(recent), kid):
            if jwk not in tried:
                tried.append(jwk)
                try:
                    return _decoded(jwt, token, jwk, algorithm, expected, kid, jwks_url)
                except jwt.InvalidSignatureError:
                    pass  # The provider may have rotated the key under the same kid, or without kids: the recent set decides.
    if not tried:
        raise OAuth2Error(FAILED + "token signing key %s is not in the JWKS %s, also not after fetching it again."
                          % ("kid " + shown(kid) if kid is not None else "without a kid", jwks_url))
    raise OAuth2Error(FAILED + "token signature does not verify with %s of the JWKS %s."
                      % ("key " + shown(kid) if kid is not None else "the keys without a kid", jwks_url))


def _decoded(jwt: Any, token: str, jwk: Dict[str, Any], algorithm: str, expected: TokenExpectations, kid: Any, jwks_url: str) -> Dict[str, Any]:
    """The claims once the token verifies with jwk; jwt.InvalidSignatureError when it does not, every other failure as OAuth2Error."""
    key = _verification_key(jwt, jwk, algorithm, kid, jwks_url)
    options = {"require": ["exp", "iss"] + (["aud"] if expected.audience else []), "verify_aud": expected.audience is not None}
    try:
        return jwt.decode(token, key, algorithms=[algorithm], audience=expected.audience, issuer=expected.issuer,
                          leeway=expected.leeway, options=options)
    except jwt.InvalidSignatureError:
        raise
    except jwt.PyJWTError as exc:
        raise OAuth2Error(FAILED + _failed_check(jwt, exc, token, expected)) from None


def _signing_keys(document: Dict[str, Any], kid: Any) -> List[Dict[str, Any]]:
    """The signing keys named by kid (a token without kid matches the keys without one); encryption keys never sign."""
    return [jwk for jwk in document.get("keys", ()) if isinstance(jwk, dict) and jwk.get("kid") == kid and jwk.get("use", "sig") == "sig"]


def _verification_key(jwt: Any, jwk: Dict[str, Any], algorithm: str, kid: Any, jwks_url: str) -> Any:
    """The key as PyJWT's PyJWK bound to the token's algorithm, which must fit the key's type, curve and own alg."""
    key_type, curve = KEY_TYPES[algorithm]
    declared = jwk.get("alg")
    if jwk.get("kty") != key_type or (curve and jwk.get("crv") != curve) or (declared is not None and declared != algorithm):
        described = ", ".join("%s %s" % (name, shown(jwk[name])) for name in ("kty", "crv", "alg") if name in jwk)
        raise OAuth2Error(FAILED + "token algorithm %s does not fit key %s of the JWKS %s (%s)." % (algorithm, shown(kid), jwks_url, described))
    try:
        return jwt.PyJWK(jwk, algorithm=algorithm)
    except jwt.PyJWTError:
        raise OAuth2Error(FAILED + "key %s of the JWKS %s is not a usable %s key." % (shown(kid), jwks_url, algorithm)) from None


def _failed_check(jwt: Any, exc: Exception, token: str, expected: TokenExpectations) -> str:
    """Which check failed, with the claim values involved (trustworthy by then: PyJWT checks the signature first)."""
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return "token has no %s claim." % exc.claim

    def claim(name: str) -> str:
        return shown(jwt.decode(token, options={"verify_signature": False}).get(name))

    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired at %s (exp), more than the leeway of %g seconds ago." % (claim("exp"), expected.leeway)
    if isinstance(exc, jwt.ImmatureSignatureError):
        name = "nbf" if "nbf" in str(exc) else "iat"
        return "token is not valid yet: its %s claim %s is more than the leeway of %g seconds ahead; check the clocks." % (
            name, claim(name), expected.leeway)
    if isinstance(exc, jwt.InvalidAudienceError):
        return "token audience %s is not the expected %s." % (claim("aud"), expected.audience)
    if isinstance(exc, jwt.InvalidIssuerError):
        return "token issuer %s is not the expected %s." % (claim("iss"), expected.issuer)
    return "token is malformed or has a malformed claim (%s)." % type(exc).__name__
