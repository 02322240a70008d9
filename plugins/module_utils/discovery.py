# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the provider publishes: its OpenID Connect discovery document and its signing keys (JWKS)."""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, shown
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_response import parse_json_object
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import Transport, require_secure_url

WELL_KNOWN_PATH = "/.well-known/openid-configuration"
# Entries of token_endpoint_auth_methods_supported are names; anything else is dropped rather than shown in a warning.
METHOD_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")


def discovery_url(issuer: str) -> str:
    return require_secure_url(issuer, "issuer").rstrip("/") + WELL_KNOWN_PATH


def discover(transport: Transport, issuer: str, deadline: Optional[float] = None) -> Dict[str, Any]:
    """What the client uses of the issuer's discovery document, held to OpenID Connect Discovery 1.0 section 4.3.

    A document that names another issuer may be an attacker's (a mix-up attack) and is refused; the URLs it
    publishes are held to the same https rule as configured ones.
    """
    url = discovery_url(issuer)
    document = get_json_object(transport, url, deadline, "OpenID discovery document",
                               "check issuer (the exact issuer URL, e.g. https://<subdomain>.onelogin.com/oidc/2) or set token_url")
    if document.get("issuer") != issuer:
        raise OAuth2Error(
            "OpenID discovery document %s is for issuer %s, not the configured issuer %s: set issuer to the provider's exact "
            "issuer URL (a trailing slash counts); a document of another issuer is refused, as it may be a mix-up attack."
            % (url, shown(document.get("issuer")), issuer)
        )
    endpoint = document.get("token_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise OAuth2Error("OpenID discovery document %s names no token_endpoint: set token_url instead of issuer." % url)
    jwks_uri = document.get("jwks_uri")
    methods = document.get("token_endpoint_auth_methods_supported")
    return {
        "token_endpoint": require_secure_url(endpoint, "The token_endpoint published at %s," % url),
        "jwks_uri": require_secure_url(jwks_uri, "The jwks_uri published at %s," % url) if isinstance(jwks_uri, str) and jwks_uri else None,
        "token_endpoint_auth_methods_supported":
            [method for method in methods if isinstance(method, str) and METHOD_NAME.match(method)] if isinstance(methods, list) else None,
    }


def fetch_jwks(transport: Transport, url: str, deadline: Optional[float] = None) -> Dict[str, Any]:
    """The JSON Web Key Set at url (RFC 7517 section 5); only its key objects are kept."""
    document = get_json_object(transport, url, deadline, "JWKS", "check jwks_url, or the jwks_uri of the issuer's discovery document")
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise OAuth2Error("JWKS %s has no keys list: check jwks_url, or the jwks_uri of the issuer's discovery document." % url)
    return {"keys": [key for key in keys if isinstance(key, dict)]}


def get_json_object(transport: Transport, url: str, deadline: Optional[float], what: str, fix: str) -> Dict[str, Any]:
    """deadline is the time.monotonic() value by which the whole token must be obtained (see Transport)."""
    response = transport.get(url, what, deadline)
    if response.status != 200:
        raise OAuth2Error("%s %s answered HTTP %d: %s." % (what, url, response.status, fix))
    return parse_json_object(response, what)
