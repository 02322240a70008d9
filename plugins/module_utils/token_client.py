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
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_auth import ADVERTISED_AS, ClientAuth, client_auth_for
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions, TokenExpectations
from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import OptionsMemo, handed_out
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, redact, token_provenance
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_in_output
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_cache import DISCOVERY_LIFETIME, CacheKeys, EntryCache, open_cache

if TYPE_CHECKING:
    from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import DpopKey
    from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import HttpResponse, Transport

# On a key the cached JWKS lacks, or a signature its key does not verify, it is fetched again unless it is younger than
# this: a stream of tokens signed with unknown keys costs the provider one JWKS request a minute, and a rotated key
# (a new kid, or a new key under the same kid) is picked up within one.
JWKS_REFETCH_INTERVAL = 60
# The purpose the token's own entry is named with, beside the provider's documents.
TOKEN_PURPOSE = "token"
# Import name and the distribution to install, for the "missing library" message of each front end.
REQUIRED_LIBRARIES = (("requests", "requests"), ("jwt", "PyJWT"), ("cryptography", "cryptography"))


def _nonce_requested(response: "HttpResponse") -> Optional[str]:
    """The token endpoint's DPoP nonce, if its answer asks for one; only DPoP clients load the DPoP code."""
    from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import nonce_requested  # pylint: disable=import-outside-toplevel
    from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_response import oauth_error  # pylint: disable=import-outside-toplevel

    return nonce_requested(response.status, response.headers, oauth_error(response))


def missing_libraries() -> List[str]:
    """Distributions to install before a token can be fetched; checked without importing them."""
    return [distribution for module, distribution in REQUIRED_LIBRARIES if importlib.util.find_spec(module) is None]


class TokenClient:
    """Obtains access tokens for one set of ClientOptions."""

    def __init__(
        self,
        options: ClientOptions,
        transport: Optional[Transport] = None,
        cache: Optional[EntryCache] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self._auth: ClientAuth = client_auth_for(options)
        # Whatever source they came from: ansible-core masks on its own only vault plaintext and no_log module options.
        mask_in_output(options.secret_values() + self._auth.sensitive_values())
        self._given_transport = transport
        self._cache = cache or (open_cache(options.cache_dir, clock, options.cache_backend, options.cache_url, options.cache_password,
                                           options.cache_key) if options.cache else None)
        self._clock = clock
        self._warnings: List[str] = []
        self._documents: Dict[str, Dict[str, Any]] = {}
        self._dpop_keys: List["DpopKey"] = []
        self._events: List[str] = []
        self._endpoint: Optional[str] = None
        # The key the token last handed out is bound to (token_type DPoP), for the proofs of API requests; else None.
        self.dpop_key: Optional["DpopKey"] = None
        # Whether the token last handed out came from the cache, so a refusal of it may be worth one fresh token.
        self.from_cache = False
        self._handed_out_expiry: Any = None

    @property
    def warnings(self) -> List[str]:
        """Problems that did not stop the token from being obtained, for the front end to show."""
        return self.options.whitespace_warnings() + self._warnings + (self._cache.warnings if self._cache else [])

    @property
    def debug(self) -> List[str]:
        """What happened on the way, such as each retry, for the front end to show at -vvv; never a secret."""
        return (self._given_transport.debug if self._given_transport is not None else []) + self._events

    def get_token(self, rejected: Optional[str] = None) -> Dict[str, Any]:
        """A token with more than its refresh margin left: from the cache if there is one, else a new one.

        One deadline, options.time_bound from now, covers the wait for the cache lock, discovery, the token
        request, the JWKS, and their retries: a waiter gives up with the process it waits for, never a whole bound later.
        rejected is an access token the API refused: a cached entry holding it is replaced (once for all processes).
        """
        deadline = time.monotonic() + self.options.time_bound
        keys = self._keys()
        fetched: List[bool] = []

        def fetch() -> Dict[str, Any]:
            fetched.append(True)
            return self.fetch_token(deadline)

        if self._cache is None or keys is None:
            result = fetch()
        else:
            discard = (lambda cached: cached.get("access_token") == rejected) if rejected else None
            result = self._cache.get_or_fetch(keys, TOKEN_PURPOSE, fetch, self.options.refresh_margin, deadline, discard)
        self.from_cache = not fetched
        self._handed_out_expiry = result.get("expires_at")
        self._events.append(self._provenance(result))
        result, generated_key, unbound = handed_out(result, self.options.dpop)
        self.dpop_key = self._dpop_key(generated_key) if result["token_type"] == "DPoP" else None
        if unbound and unbound not in self._warnings:
            self._warnings.append(unbound)
        return result

    def _provenance(self, result: Mapping[str, Any]) -> str:
        endpoint = self._cached_endpoint() if self.from_cache else self._endpoint or ""
        return token_provenance(self.options.client_id, endpoint, result.get("expires_at"), self._clock(), self.from_cache)

    def _cached_endpoint(self) -> str:
        """The token endpoint as the cache knows it: token_url, or the issuer whose discovery names it."""
        return self.options.token_url or "the token endpoint of issuer %s" % self.options.issuer

    def remember(self, memo: OptionsMemo) -> None:
        """After get_token, for the lookup: leaves the memo of the options these were checked from, with what a cache hit
        must still show, so that the next lookup with the same options goes no further than cache_read."""
        keys = self._keys()
        expires_at = self._handed_out_expiry
        store = self._cache.memo_store(keys) if self._cache is not None and keys is not None else None
        if store is not None and isinstance(expires_at, int):
            cache, entry_keys = store
            options = self.options
            checked = {"margin": options.refresh_margin, "warnings": options.whitespace_warnings(), "dpop": options.dpop,
                       "client_id": options.client_id, "endpoint": self._cached_endpoint()}
            cache.remember(memo, entry_keys.name(TOKEN_PURPOSE), entry_keys, expires_at, checked)

    def fetch_token(self, deadline: Optional[float] = None) -> Dict[str, Any]:
        """Ask the provider for a new token; any failure surfaces as OAuth2Error with secrets blanked out.

        deadline is a time.monotonic() value; by default options.time_bound from now.
        """
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_response import token_result  # pylint: disable=import-outside-toplevel

        missing = missing_libraries()
        if missing:
            raise OAuth2Error("Requesting a token needs the Python packages %s where this runs: pip install %s"
                              % (", ".join(missing), " ".join(missing)))
        if deadline is None:
            deadline = time.monotonic() + self.options.time_bound
        try:
            # Before any request, discovery included: an expired client assertion is said as such, not as the provider's refusal.
            self._auth.check()
            endpoint = self._endpoint = self.token_endpoint(deadline)
            # A key of the user's own, or a new one for this token, which the cache then keeps with it.
            key = (self._dpop_key(None) if self.options.dpop_private_key else self._generated_dpop_key()) if self.options.dpop else None
            # Lifetimes count from before the request: the provider's clock started no earlier.
            sent_at = self._clock()
            response = self._post_token_request(endpoint, key, None, deadline)
            nonce = key and _nonce_requested(response)
            if nonce:
                # The provider's nonce is answered once; a second refusal is reported like any other.
                response = self._post_token_request(endpoint, key, nonce, deadline)
            result = token_result(response, sent_at, self._sensitive_values(), dpop=key is not None, client_refused_hint=self._auth.refusal_hint())
            if self.options.validation:
                # Verified before get_token can cache it: only a verified token is stored under these expectations.
                result.update(claims=self._verified_claims(result["access_token"], self.options.validation, deadline), claims_verified=True)
            if key is not None and result["token_type"] == "DPoP" and not self.options.dpop_private_key:
                result["dpop_key"] = key.private_key_pem
            return result
        except OAuth2Error as exc:
            raise OAuth2Error(redact(str(exc), self._sensitive_values()), exc.error_code) from None

    def _post_token_request(self, endpoint: str, key: Optional["DpopKey"], nonce: Optional[str], deadline: float) -> "HttpResponse":
        def request() -> Tuple[List[Tuple[str, str]], Dict[str, str]]:
            # Built for each attempt: a provider refuses a client assertion, or a DPoP proof, it has seen before.
            form, headers = self.token_request(endpoint)
            if key is not None:
                headers["DPoP"] = key.proof("POST", endpoint, nonce=nonce)
            return form, headers

        return self._transport().post_form(endpoint, "Token endpoint", request, deadline)

    def _dpop_key(self, generated_pem: Optional[str]) -> "DpopKey":
        """The DPoP key of the token handed out: the user's, or the one generated with it (parsed once per process)."""
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import DpopKey  # pylint: disable=import-outside-toplevel

        pem = generated_pem or self.options.dpop_private_key or ""
        for key in self._dpop_keys:
            if key.private_key_pem == pem:
                return key
        key = DpopKey(pem)
        self._dpop_keys.append(key)
        return key

    def _generated_dpop_key(self) -> "DpopKey":
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import DpopKey  # pylint: disable=import-outside-toplevel

        key = DpopKey.generate()
        self._dpop_keys.append(key)
        return key

    def _sensitive_values(self) -> Tuple[str, ...]:
        """What to blank out of messages: the credentials, and every DPoP proof and key this client made or used."""
        keys = tuple(value for key in self._dpop_keys for value in (key.private_key_pem,) + tuple(key.proofs))
        return tuple(self._auth.sensitive_values()) + keys

    def token_endpoint(self, deadline: float) -> str:
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import (  # pylint: disable=import-outside-toplevel
            require_secure_url,
        )

        if self.options.token_url:
            return require_secure_url(self.options.token_url, "token_url")
        discovered = self._discovery(deadline)
        supported = discovered["token_endpoint_auth_methods_supported"]
        method = self.options.auth_method
        advertised = ADVERTISED_AS.get(method, method)
        if supported is not None and advertised not in supported:
            self._warnings.append(
                "The provider's discovery document does not list auth_method %s among its token_endpoint_auth_methods_supported "
                "(%s); the request is sent anyway." % (method if advertised == method else "%s (%s on the wire)" % (method, advertised),
                                                       ", ".join(supported) or "none"))
        return discovered["token_endpoint"]

    def _discovery(self, deadline: float) -> Dict[str, Any]:
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.discovery import discover  # pylint: disable=import-outside-toplevel

        # Named anew when the issuer check arrived, so no document cached without it is used.
        return self._published("openid-configuration", lambda: discover(self._transport(), self.options.issuer or "", deadline), deadline)

    def _verified_claims(self, access_token: str, expected: TokenExpectations, deadline: float) -> Dict[str, Any]:
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.discovery import fetch_jwks  # pylint: disable=import-outside-toplevel
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_validation import (  # pylint: disable=import-outside-toplevel
            verify_token,
        )
        from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import (  # pylint: disable=import-outside-toplevel
            require_secure_url,
        )

        if expected.jwks_url:
            url = require_secure_url(expected.jwks_url, "jwks_url")
        else:
            url = self._discovery(deadline)["jwks_uri"] or ""
            if not url:
                raise OAuth2Error("The OpenID discovery document of issuer %s names no jwks_uri: set jwks_url to verify tokens."
                                  % self.options.issuer)

        def jwks(recent: bool) -> Dict[str, Any]:
            return self._published("jwks " + url, lambda: fetch_jwks(self._transport(), url, deadline), deadline,
                                   JWKS_REFETCH_INTERVAL if recent else None)

        return verify_token(access_token, expected, jwks, url)

    def _published(self, purpose: str, fetch: Callable[[], Dict[str, Any]], deadline: float, max_age: Optional[int] = None) -> Dict[str, Any]:
        """A document the provider publishes (discovery, JWKS), cached for an hour; max_age asks for one fetched at most
        that many seconds ago, so every process of the user together fetches it at most once in that time."""
        keys = self._keys()
        if self._cache is None or keys is None:
            # Without a cache, what this process fetched is as recent as it gets.
            if purpose not in self._documents:
                self._documents[purpose] = fetch()
            return self._documents[purpose]

        def entry() -> Dict[str, Any]:
            return {"document": fetch(), "expires_in": DISCOVERY_LIFETIME, "expires_at": int(self._clock()) + DISCOVERY_LIFETIME}

        # The cache hands out an entry only while more than the margin of its lifetime is left: here, while it is young enough.
        margin = None if max_age is None else DISCOVERY_LIFETIME - max_age
        return self._cache.get_or_fetch(keys, purpose, entry, margin, deadline)["document"]

    def _transport(self) -> "Transport":
        if self._given_transport is None:
            from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import (  # pylint: disable=import-outside-toplevel
                ClientCertificate,
                Transport,
            )

            options = self.options
            certificate = ClientCertificate(options.client_cert, options.client_key, options.client_key_content) if options.client_cert else None
            self._given_transport = Transport(options.validate_certs, options.ca_path, options.timeout, options.retries, options.max_retry_wait,
                                              certificate)
        return self._given_transport

    def _keys(self) -> Optional[CacheKeys]:
        """None when there is no usable cache."""
        return self._cache.keys(self._auth.cache_secret(), self.options.cache_identity()) if self._cache is not None else None

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
