# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the client proves who it is at the token endpoint (RFC 6749 section 2.3).

Each method adds its credential to an outgoing token request and names the strings that must
never be shown, so later methods (client_secret_jwt, private_key_jwt, mutual TLS) slot in here.
"""

from __future__ import annotations

import base64
from typing import Dict, List, Tuple
from urllib.parse import quote_plus


class ClientAuth:
    """A client authentication method; subclasses fill in the request."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self._client_secret = client_secret

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str]) -> None:
        raise NotImplementedError

    def sensitive_values(self) -> Tuple[str, ...]:
        """Every form in which the secret could surface: raw, form-encoded, and inside a Basic header."""
        return (self._client_secret, quote_plus(self._client_secret), _basic_credentials(self.client_id, self._client_secret))


class ClientSecretBasic(ClientAuth):
    """HTTP Basic with form-encoded id and secret, so ':' '+' '%' and spaces survive the round trip."""

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str]) -> None:
        headers["Authorization"] = "Basic " + _basic_credentials(self.client_id, self._client_secret)


class ClientSecretPost(ClientAuth):
    """Id and secret as form fields, for clients registered that way (OneLogin's "POST" method)."""

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str]) -> None:
        form.extend((("client_id", self.client_id), ("client_secret", self._client_secret)))


_METHODS = {"client_secret_basic": ClientSecretBasic, "client_secret_post": ClientSecretPost}
AUTH_METHODS = tuple(_METHODS)


def client_auth_for(method: str, client_id: str, client_secret: str) -> ClientAuth:
    """The authentication method by its registered name (one of AUTH_METHODS, validated with the options)."""
    return _METHODS[method](client_id, client_secret)


def _basic_credentials(client_id: str, client_secret: str) -> str:
    pair = "%s:%s" % (quote_plus(client_id, safe=""), quote_plus(client_secret, safe=""))
    return base64.b64encode(pair.encode("utf-8")).decode("ascii")
