# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finds the token endpoint from the issuer's OpenID Connect discovery document."""

from __future__ import annotations

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_response import parse_json_object
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import Transport, require_secure_url

WELL_KNOWN_PATH = "/.well-known/openid-configuration"


def discovery_url(issuer: str) -> str:
    return require_secure_url(issuer, "issuer").rstrip("/") + WELL_KNOWN_PATH


def discover_token_endpoint(transport: Transport, issuer: str) -> str:
    """The token_endpoint the issuer publishes, held to the same https rule as a configured token_url."""
    url = discovery_url(issuer)
    what = "OpenID discovery document"
    response = transport.get(url, what)
    if response.status != 200:
        raise OAuth2Error(
            "%s %s answered HTTP %d: check issuer (the exact issuer URL, e.g. https://<subdomain>.onelogin.com/oidc/2) or set token_url."
            % (what, url, response.status)
        )
    endpoint = parse_json_object(response, what).get("token_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise OAuth2Error("%s %s names no token_endpoint: set token_url instead of issuer." % (what, url))
    return require_secure_url(endpoint, "The token_endpoint published at %s," % url)
