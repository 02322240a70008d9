# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The token client: the one place where a client-credentials token is requested (RFC 6749 section 4.4).

Front ends build ClientOptions, call TokenClient(options).get_token(), show its warnings, and shape the
token result dict for their users. Authentication, transport, caching and response parsing are the
pieces it composes; each can be handed in to replace the default.

Ansible imports collection code from source in every forked worker, so the request path (transport,
discovery, response parsing, and through them requests, ssl and PyJWT) is imported only when a token
is actually requested: a lookup answered from the cache never pays for it.
"""

from __future__ import annotations

import importlib.util
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_auth import ClientAuth, client_auth_for
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, redact
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_cache import DISCOVERY_LIFETIME, CacheKeys, TokenCache

if TYPE_CHECKING:
    from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import Transport

# Import name and the distribution to install, for the "missing library" message of each front end.
REQUIRED_LIBRARIES = (("requests", "requests"), ("jwt", "PyJWT"), ("cryptography", "cryptography"))


def missing_libraries() -> List[str]:
    """Distributions to install before a token can be fetched; checked without importing them."""
    return [distribution for module, distribution in REQUIRED_LIBRARIES if importlib.util.find_spec(module) is None]


class TokenClient:
    """Obtains access tokens for one set of ClientOptions."""

    def __init__(
        self,
        options: ClientOptions,
        transport: Optional[Transport] = None,
        cache: Optional[TokenCache] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self._auth: ClientAuth = client_auth_for(options)
        self._given_transport = transport
        self._cache = cache or (TokenCache(options.cache_dir, clock, lock_timeout=2 * options.timeout + 5) if options.cache else None)
        self._clock = clock

    @property
    def warnings(self) -> List[str]:
        """Problems that did not stop the token from being obtained, for the front end to show."""
        return self.options.whitespace_warnings() + (self._cache.warnings if self._cache else [])

    def get_token(self) -> Dict[str, Any]:
        """A token with more than its refresh margin left: from the cache if there is one, else a new one."""
        keys = self._keys()
        if self._cache is None or keys is None:
            return self.fetch_token()
        return self._cache.get_or_fetch(keys, "token", self.fetch_token, self.options.refresh_margin)

    def fetch_token(self) -> Dict[str, Any]:
        """Ask the provider for a new token; any failure surfaces as OAuth2Error with secrets blanked out."""
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_response import token_result  # pylint: disable=import-outside-toplevel

        missing = missing_libraries()
        if missing:
            raise OAuth2Error("Requesting a token needs the Python packages %s where this runs: pip install %s"
                              % (", ".join(missing), " ".join(missing)))
        try:
            endpoint = self.token_endpoint()
            form, headers = self.token_request(endpoint)
            # Lifetimes count from before the request: the provider's clock started no earlier.
            sent_at = self._clock()
            response = self._transport().post_form(endpoint, "Token endpoint", form, headers)
            return token_result(response, sent_at, self._auth.sensitive_values())
        except OAuth2Error as exc:
            raise OAuth2Error(redact(str(exc), self._auth.sensitive_values()), exc.error_code) from None

    def token_endpoint(self) -> str:
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.discovery import (  # pylint: disable=import-outside-toplevel
            discover_token_endpoint,
        )
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import (  # pylint: disable=import-outside-toplevel
            require_secure_url,
        )

        if self.options.token_url:
            return require_secure_url(self.options.token_url, "token_url")
        issuer = self.options.issuer or ""
        keys = self._keys()
        if self._cache is None or keys is None:
            return discover_token_endpoint(self._transport(), issuer)

        def discover() -> Dict[str, Any]:
            return {"token_endpoint": discover_token_endpoint(self._transport(), issuer),
                    "expires_in": DISCOVERY_LIFETIME, "expires_at": int(self._clock()) + DISCOVERY_LIFETIME}

        return self._cache.get_or_fetch(keys, "discovery", discover, None)["token_endpoint"]

    def _transport(self) -> "Transport":
        if self._given_transport is None:
            from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import Transport  # pylint: disable=import-outside-toplevel

            client_cert = (self.options.client_cert, self.options.client_key) if self.options.client_cert else None
            self._given_transport = Transport(self.options.validate_certs, self.options.ca_path, self.options.timeout, client_cert)
        return self._given_transport

    def _keys(self) -> Optional[CacheKeys]:
        """None when there is no usable cache, or no cryptography (fetch_token then says what to install)."""
        if self._cache is None:
            return None
        try:
            return self._cache.keys(self._auth.cache_secret(), self.options.cache_identity())
        except ImportError:
            return None

    def token_request(self, endpoint: str) -> Tuple[List[Tuple[str, str]], Dict[str, str]]:
        """The form fields and headers of the token request to endpoint, authentication included."""
        options = self.options
        form: List[Tuple[str, str]] = [("grant_type", "client_credentials")]
        if options.scope:
            form.append(("scope", " ".join(options.scope)))
        form.extend(("resource", resource) for resource in options.resource)
        if options.audience:
            form.append(("audience", options.audience))
        form.extend(options.extra_params)
        headers: Dict[str, str] = {}
        self._auth.authenticate(form, headers, endpoint)
        return form, headers
