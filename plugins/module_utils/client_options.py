# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turns the options of any front end into one validated ClientOptions.

The lookup hands over what get_option() returned, the module its params; both arrive here as a
plain mapping, so validation and defaults live in one place.
"""

from __future__ import annotations

import hashlib
import math
import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import file_digest, sha256, trusted_ca_path
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_auth import (
    ASSERTION_ALGORITHMS,
    ASSERTION_TYPE,
    AUTH_METHODS,
    choose_auth_method,
)
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, shown
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import SECRET_OPTIONS

# The allow-list validation_algorithms may draw from, with the key type (and curve) each needs. Only asymmetric
# algorithms: with "none" anyone can mint a token, and an HMAC key would be the provider's public key, known to all.
KEY_TYPES: Dict[str, Tuple[str, Optional[str]]] = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"), "ES256K": ("EC", "secp256k1"),
    "EdDSA": ("OKP", None),
}
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

# Form fields the client builds itself; extra_params may not override them.
RESERVED_PARAMS = frozenset(
    ("grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type", "scope", "resource", "audience")
)

# Where the token cache keeps its entries: the user's files, or a Redis (or Valkey) server that many controllers share.
CACHE_BACKENDS = ("file", "redis")
# Methods whose cache entries are keyed by no secret (an identity token's workload): the file cache protects them with the
# per-user key file, the Redis backend only with cache_key, which it therefore requires for them.
UNSECRET_CREDENTIALS = ("client_assertion",)

# Argument spec of every front end that takes the connection options (the module, the role).
# The descriptions live in the token_options doc fragment; ansible-test validate-modules keeps both in step.
CLIENT_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "token_url": {"type": "str", "no_log": False},
    "issuer": {"type": "str"},
    "client_id": {"type": "str"},
    "client_secret": {"type": "str", "no_log": True},
    "auth_method": {"type": "str", "choices": list(AUTH_METHODS)},
    "private_key": {"type": "str", "no_log": True},
    "private_key_path": {"type": "str", "no_log": False},
    "private_key_passphrase": {"type": "str", "no_log": True},
    "private_key_id": {"type": "str"},
    "client_assertion_algorithm": {"type": "str", "choices": list(ASSERTION_ALGORITHMS)},
    "client_assertion_audience": {"type": "str"},
    "client_cert": {"type": "str"},
    "client_key": {"type": "str", "no_log": False},
    "client_key_content": {"type": "str", "no_log": True},
    "client_assertion": {"type": "str", "no_log": True},
    "client_assertion_file": {"type": "str", "no_log": False},
    "client_assertion_type": {"type": "str", "default": ASSERTION_TYPE},
    "scope": {"type": "list", "elements": "str"},
    "resource": {"type": "list", "elements": "str"},
    "audience": {"type": "str"},
    "extra_params": {"type": "dict"},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "str"},
    "timeout": {"type": "float", "default": 10.0},
    "retries": {"type": "int", "default": 3},
    "max_retry_wait": {"type": "float", "default": 30.0},
    "credentials_file": {"type": "str"},
    "cache": {"type": "bool", "default": True},
    "cache_dir": {"type": "str"},
    "refresh_margin": {"type": "float"},
    "cache_backend": {"type": "str", "default": "file", "choices": list(CACHE_BACKENDS)},
    "cache_url": {"type": "str"},
    "cache_password": {"type": "str", "no_log": True},
    "cache_key": {"type": "str", "no_log": True},
    "validate_token": {"type": "bool", "default": False},
    "jwks_url": {"type": "str"},
    "validation_algorithms": {"type": "list", "elements": "str", "default": list(DEFAULT_ALGORITHMS)},
    "leeway": {"type": "float", "default": 30.0},
    "expected_issuer": {"type": "str"},
    "expected_audience": {"type": "str"},
    "dpop": {"type": "bool", "default": False},
    "dpop_private_key": {"type": "str", "no_log": True},
    "dpop_private_key_path": {"type": "str", "no_log": False},
}

OPTION_NAMES = tuple(CLIENT_ARGUMENT_SPEC)
# Before ansible-core 2.22 Ansible blanks every occurrence of a no_log option's value in a module's result: a short
# one would occur in the token or its claims (a passphrase "test" turns https://api.test/ into https://api.********/).
MIN_NO_LOG_LENGTH = 8
SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
# Accepted ranges of the numeric options: beyond them a value is a typo, and nan or inf would make waits endless.
NUMBER_RANGES = {"timeout": (0, 600), "retries": (0, 10), "max_retry_wait": (0, 600), "refresh_margin": (0, 365 * 86400), "leeway": (0, 3600)}
WHOLE_NUMBERS = ("retries",)
# The token module's fact, unless fact_name says otherwise; the action plugin warns when a fact cache would keep it.
DEFAULT_FACT_NAME = "oauth2_token"

# The option records are named tuples, not dataclasses: the lookup imports this module afresh in every forked worker,
# and a dataclass generates and compiles its methods there each time.


class TokenExpectations(NamedTuple):
    """What validate_token checks; part of the cache identity, so a token is only reused under the checks it passed."""

    issuer: str
    audience: Optional[str]
    algorithms: Tuple[str, ...]
    leeway: float
    jwks_url: Optional[str]


class ClientOptions(NamedTuple):
    """Everything that decides which token is requested and how; immutable so it can key a cache."""

    client_id: str
    client_secret: Optional[str] = None
    token_url: Optional[str] = None
    issuer: Optional[str] = None
    auth_method: str = "client_secret_basic"
    private_key: Optional[str] = None
    private_key_passphrase: Optional[str] = None
    private_key_id: Optional[str] = None
    client_assertion_algorithm: Optional[str] = None
    client_assertion_audience: Optional[str] = None
    client_cert: Optional[str] = None
    client_key: Optional[str] = None
    client_key_content: Optional[str] = None
    client_assertion: Optional[str] = None
    client_assertion_file: Optional[str] = None
    client_assertion_type: str = ASSERTION_TYPE
    scope: Tuple[str, ...] = ()
    resource: Tuple[str, ...] = ()
    audience: Optional[str] = None
    extra_params: Tuple[Tuple[str, str], ...] = ()
    validate_certs: bool = True
    ca_path: Optional[str] = None
    timeout: float = 10.0
    retries: int = 3
    max_retry_wait: float = 30.0
    cache: bool = True
    cache_dir: Optional[str] = None
    refresh_margin: Optional[float] = None
    cache_backend: str = "file"
    cache_url: Optional[str] = None
    cache_password: Optional[str] = None
    cache_key: Optional[str] = None
    validation: Optional[TokenExpectations] = None
    dpop: bool = False
    dpop_private_key: Optional[str] = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], local_files: bool = True) -> "ClientOptions":
        """Validate raw option values; unknown keys are ignored so front ends can pass their own.

        local_files is false where the files that path options name live elsewhere: the controller checking a module's options.
        """
        token_url = _optional_text(options, "token_url")
        issuer = _optional_text(options, "issuer")
        if not token_url and not issuer:
            raise OAuth2Error(
                "Neither token_url nor issuer is set: give the token endpoint URL as token_url, or the provider's issuer URL as issuer "
                "to discover it (%s, %s)." % (_sources("token_url"), _sources("issuer"))
            )
        ca_path = _optional_path(options, "ca_path")
        if ca_path and local_files:
            _check_ca_file(ca_path)
        private_key = _key_text(options, "private_key", local_files)
        client_cert, client_key = _optional_path(options, "client_cert"), _optional_path(options, "client_key")
        client_key_content = _optional_text(options, "client_key_content", strip=False)
        if client_key and client_key_content:
            raise OAuth2Error("client_key and client_key_content are both set: give the private key of client_cert once, "
                              "as a file or as its PEM text.")
        if bool(client_cert) != bool(client_key or client_key_content):
            raise OAuth2Error("client_cert and client_key go together: give both, the PEM certificate and its private key "
                              "(client_key, or its PEM text as client_key_content).")
        for name, path in (("client_cert", client_cert), ("client_key", client_key)):
            if path and local_files and not os.path.isfile(path):
                raise OAuth2Error("%s %s is not a file: give the PEM file where this runs." % (name, path))
        configured = _optional_text(options, "auth_method")
        if configured and configured not in AUTH_METHODS:
            raise OAuth2Error("auth_method %r is not supported: use one of %s." % (configured, ", ".join(AUTH_METHODS)))
        assertion, assertion_file = _assertion_options(options, configured, bool(private_key), bool(client_cert))
        auth_method = choose_auth_method(configured, bool(private_key), bool(client_cert), bool(_optional_text(options, "client_secret")),
                                         bool(assertion or assertion_file))
        dpop = _boolean(options.get("dpop") or False, "dpop")
        dpop_private_key = _key_text(options, "dpop_private_key", local_files)
        if dpop_private_key and not dpop:
            raise OAuth2Error("dpop_private_key is given but dpop is false: set dpop: true to obtain DPoP-bound tokens with that key, "
                              "or remove the key.")
        algorithm = _optional_text(options, "client_assertion_algorithm")
        if algorithm and algorithm not in ASSERTION_ALGORITHMS:
            raise OAuth2Error("client_assertion_algorithm %r is not supported: use one of %s." % (algorithm, ", ".join(ASSERTION_ALGORITHMS)))
        return cls(
            client_id=_required_text(options, "client_id", "the OAuth client's id"),
            client_secret=_required_text(options, "client_secret", "the OAuth client's secret, kept in Ansible Vault")
            if auth_method in SECRET_METHODS else _optional_text(options, "client_secret", strip=False),
            token_url=token_url,
            issuer=issuer,
            auth_method=auth_method,
            private_key=_required_credential(private_key, auth_method, "private_key_jwt", "private_key",
                                             "the client's PEM private key, or its file as private_key_path"),
            private_key_passphrase=_optional_text(options, "private_key_passphrase", strip=False),
            private_key_id=_optional_text(options, "private_key_id"),
            client_assertion_algorithm=algorithm,
            client_assertion_audience=_optional_text(options, "client_assertion_audience"),
            client_cert=_required_credential(client_cert, auth_method, "tls_client_auth", "client_cert",
                                             "the client's PEM certificate file, and its key as client_key or client_key_content"),
            client_key=client_key,
            client_key_content=client_key_content,
            client_assertion=assertion,
            client_assertion_file=assertion_file,
            client_assertion_type=_optional_text(options, "client_assertion_type") or ASSERTION_TYPE,
            scope=_words(options.get("scope"), "scope"),
            resource=_strings(options.get("resource"), "resource"),
            audience=_optional_text(options, "audience"),
            extra_params=_extra_params(options.get("extra_params")),
            validate_certs=_boolean(options.get("validate_certs"), "validate_certs"),
            ca_path=ca_path,
            timeout=_number(options, "timeout", 10.0, allow_low=False),
            retries=int(_number(options, "retries", 3, allow_low=True)),
            max_retry_wait=_number(options, "max_retry_wait", 30.0, allow_low=True),
            cache=_boolean(options.get("cache"), "cache"),
            cache_dir=_optional_path(options, "cache_dir"),
            refresh_margin=None if options.get("refresh_margin") is None else _number(options, "refresh_margin", None, allow_low=True),
            **_shared_cache(options, auth_method),
            validation=_expectations(options, issuer),
            dpop=dpop,
            dpop_private_key=dpop_private_key,
        )

    def __repr__(self) -> str:
        return "ClientOptions(%s)" % ", ".join(
            "%s=%s" % (name, "<hidden>" if name in SECRET_OPTIONS and value is not None else repr(value))
            for name, value in zip(self._fields, self))

    def secret_values(self) -> Tuple[str, ...]:
        """The credentials among the options, whichever auth_method uses them, for masking in output."""
        return tuple(value for name, value in zip(self._fields, self) if name in SECRET_OPTIONS and value)

    @property
    def time_bound(self) -> float:
        """Seconds within which one token is obtained or refused: the documented promise that no task hangs."""
        return time_bound(self.timeout, self.retries, self.max_retry_wait)

    def whitespace_warnings(self) -> List[str]:
        """Surrounding whitespace in a credential is more often a paste slip than meant, so it is pointed out, never removed."""
        credentials = (("client_id", self.client_id, "client id"), ("client_secret", self.client_secret, "secret"))
        return [
            "%s has leading or trailing whitespace, which is sent as given; remove it if the provider's %s has none." % (name, meaning)
            for name, value, meaning in credentials
            if value and value != value.strip()
        ]

    def cache_identity(self) -> Tuple[Any, ...]:
        """Everything that decides which token the provider issues, and whether a fresh request for it would succeed and
        be trusted: a cached token is handed out only under the settings it was obtained and verified under. Timeouts,
        retries and the cache's own options decide neither, so they share an entry. The credential that keys the entry
        (the secret, or the private key and its passphrase) is ClientAuth.cache_secret()."""
        endpoint = self.token_url or "issuer " + (self.issuer or "")
        return (endpoint, self.client_id, self.auth_method, self.scope, self.resource, self.audience, self.extra_params,
                self.client_assertion_algorithm, self.client_assertion_audience, self.private_key_id,
                # What TLS trusts and presents, by content: a CA or certificate file replaced under its name is another setting.
                self.validate_certs and _trusted_cas(self.ca_path),
                self.client_cert and (file_digest(self.client_cert), file_digest(self.client_key) if self.client_key else sha256(self.client_key_content)),
                # A token cached without validation, or checked against other expectations, is never handed out as verified.
                self.validation and tuple(self.validation),
                # A DPoP-bound token is good only with the key it is bound to: a given key by its digest, or the one
                # generated for the entry, which the entry itself holds.
                self.dpop and (sha256(self.dpop_private_key) if self.dpop_private_key else "generated key"))


def _shared_cache(options: Mapping[str, Any], auth_method: str) -> Dict[str, Any]:
    """cache_backend and the options of the shared cache; the Redis backend's module, which checks a cache_url's form and
    the cache_key, is loaded only when it is chosen. The credentials are kept either way, so they are masked in output."""
    backend = _optional_text(options, "cache_backend") or "file"
    if backend not in CACHE_BACKENDS:
        raise OAuth2Error("cache_backend %s is not supported: use file (the default) or redis." % shown(backend))
    url = _optional_text(options, "cache_url")
    credentials = {"cache_password": _optional_text(options, "cache_password", strip=False),
                   "cache_key": _optional_text(options, "cache_key", strip=False)}
    if backend == "file":
        if url:
            raise OAuth2Error("cache_url is set, but cache_backend is file: set cache_backend: redis to share tokens through it, "
                              "or remove cache_url.")
        return credentials
    if not url:
        raise OAuth2Error("cache_backend redis needs cache_url: give the server as redis://host:port/db, rediss://host:port/db "
                          "(TLS) or unix:///path/to/socket (%s)." % _sources("cache_url"))
    from ansible_collections.oauth2.client_credentials.plugins.module_utils.redis_cache import (  # pylint: disable=import-outside-toplevel
        check_cache_key,
        connection_settings,
    )

    connection_settings(url)
    check_cache_key(credentials["cache_key"])
    if auth_method in UNSECRET_CREDENTIALS and not credentials["cache_key"]:
        raise OAuth2Error("cache_backend redis with auth_method %s needs cache_key: the entries of a credential that is no secret "
                          "would be readable, and writable, by whoever reaches the Redis server. Give cache_key, a random secret "
                          "of the fleet kept in Vault (%s), or keep cache_backend file." % (auth_method, _sources("cache_key")))
    return dict(credentials, cache_backend=backend, cache_url=url)


def _trusted_cas(ca_path: Optional[str]) -> Tuple[str, ...]:
    """The CAs a verifying request trusts, by content. Read, never parsed: this runs on every cache hit of the full path."""
    path = trusted_ca_path(ca_path)
    if not path:
        return ("default",)
    if not os.path.isdir(path):
        return (path, file_digest(path))
    # A hashed CA directory by its entries' names, sizes and times.
    digest = hashlib.sha256()
    try:
        for entry in sorted(os.scandir(path), key=lambda found: found.name):
            try:
                info = entry.stat()
                digest.update(("%s\0%d\0%d\n" % (entry.name, info.st_size, info.st_mtime_ns)).encode("utf-8", "surrogateescape"))
            except OSError:
                digest.update(("%s\0\n" % entry.name).encode("utf-8", "surrogateescape"))
    except OSError as exc:
        return (path, "unreadable: %s" % exc.strerror)
    return (path, digest.hexdigest())


def too_short_for_no_log(values: Mapping[str, Any]) -> Optional[str]:
    """Why a module cannot take these options, if one of its no_log values is short enough to garble its result."""
    for name, meaning in SECRET_OPTIONS.items():
        value = values.get(name)
        if isinstance(value, str) and 0 < len(value) < MIN_NO_LOG_LENGTH:
            return ("%s is shorter than %d characters: Ansible would blank out every occurrence of it in the module's result, the token "
                    "included. Use the lookup, or a %s of at least %d characters." % (name, MIN_NO_LOG_LENGTH, meaning, MIN_NO_LOG_LENGTH))
    return None


def _expectations(options: Mapping[str, Any], issuer: Optional[str]) -> Optional[TokenExpectations]:
    """What validate_token checks; the audience defaults to what was asked for: audience, else a single resource."""
    if not _boolean(options.get("validate_token") or False, "validate_token"):
        return None
    expected_issuer = _optional_text(options, "expected_issuer") or issuer
    jwks_url = _optional_text(options, "jwks_url")
    if not expected_issuer:
        raise OAuth2Error("validate_token needs the issuer that tokens must name: set issuer, or expected_issuer.")
    if not jwks_url and not issuer:
        raise OAuth2Error("validate_token needs the provider's signing keys: set jwks_url, or issuer to find them by discovery.")
    resource = _strings(options.get("resource"), "resource")
    algorithms = options.get("validation_algorithms")
    return TokenExpectations(
        issuer=expected_issuer,
        audience=_optional_text(options, "expected_audience") or _optional_text(options, "audience") or (resource[0] if len(resource) == 1 else None),
        algorithms=DEFAULT_ALGORITHMS if algorithms is None else _allowed_algorithms(_strings(algorithms, "validation_algorithms")),
        leeway=_number(options, "leeway", 30.0, allow_low=True),
        jwks_url=jwks_url,
    )


def _allowed_algorithms(names: Tuple[str, ...]) -> Tuple[str, ...]:
    """validation_algorithms as given, once every name is an asymmetric algorithm this collection can verify."""
    refused = [name for name in names if name not in KEY_TYPES]
    if refused or not names:
        raise OAuth2Error(
            "validation_algorithms may only name asymmetric signature algorithms (%s), not %s: \"none\" and HMAC "
            "(HS256, ...) would let anyone who knows the provider's public keys forge tokens."
            % (", ".join(KEY_TYPES), ", ".join(shown(name) for name in refused) or "an empty list")
        )
    return names


def _optional_text(options: Mapping[str, Any], name: str, strip: bool = True) -> Optional[str]:
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OAuth2Error("%s must be a string, not %s." % (name, type(value).__name__))
    if not value.strip():
        return None
    return value.strip() if strip else value


def _optional_path(options: Mapping[str, Any], name: str) -> Optional[str]:
    """Paths are expanded here, where the code runs: for the module that is the host and user it runs as."""
    value = _optional_text(options, name)
    return os.path.expanduser(value) if value else None


def _assertion_options(options: Mapping[str, Any], configured: Optional[str], has_private_key: bool,
                       has_client_cert: bool) -> Tuple[Optional[str], Optional[str]]:
    """client_assertion or client_assertion_file, the one given; with anything else that authenticates the client, one
    clear line instead of a silent choice. The file is not read here: it is read at each request, where that is made."""
    assertion = _optional_text(options, "client_assertion")
    path = _optional_path(options, "client_assertion_file")
    if assertion and path:
        raise OAuth2Error("client_assertion and client_assertion_file are both set: give the identity token once, as its text or as its file.")
    given = "client_assertion" if assertion else "client_assertion_file" if path else None
    if not given:
        if configured == "client_assertion":
            raise OAuth2Error("client_assertion is not set, and auth_method client_assertion needs it: give the identity token as "
                              "client_assertion, or its file as client_assertion_file (%s)." % _sources("client_assertion"))
        return None, None
    rivals = [name for name, present in (
        ("client_secret", bool(_optional_text(options, "client_secret"))),
        ("private_key_path" if _optional_text(options, "private_key_path") else "private_key", has_private_key),
        ("client_cert", has_client_cert),
    ) if present]
    if rivals:
        raise OAuth2Error("%s and %s are both set: a client assertion authenticates the client instead of a secret, key or certificate; "
                          "remove one of them." % (given, rivals[0]))
    if configured and configured != "client_assertion":
        raise OAuth2Error("%s is set, and auth_method is %s: an assertion given is sent only with auth_method client_assertion; "
                          "remove auth_method (or set it to client_assertion), or remove %s." % (given, configured, given))
    if path and not os.path.isabs(path):
        raise OAuth2Error("client_assertion_file %s is not an absolute path: it is read where the token is requested, at each request, "
                          "and never searched like files/; give its absolute path." % path)
    return assertion, path


def _required_credential(value: Optional[str], auth_method: str, needs_it: str, name: str, meaning: str) -> Optional[str]:
    if auth_method == needs_it and not value:
        raise OAuth2Error("%s is not set, and auth_method %s needs it: give %s." % (name, auth_method, meaning))
    return value


def _key_text(options: Mapping[str, Any], name: str, local_files: bool) -> Optional[str]:
    """A key as its PEM text (name), else from its file (name_path), read here; where the file is the module's to read
    (local_files false), the path itself stands in for it."""
    path_option = name + "_path"
    return _optional_text(options, name, strip=False) or (
        _file_text(_optional_path(options, path_option), path_option) if local_files else _optional_text(options, path_option))


def _file_text(path: Optional[str], name: str) -> Optional[str]:
    """A PEM file read where this runs; on the controller a vault-encrypted one was already decrypted into the option it feeds."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not text"
        raise OAuth2Error("%s %s cannot be read (%s): give the PEM file where this runs." % (name, path, reason)) from None


def _required_text(options: Mapping[str, Any], name: str, meaning: str) -> str:
    """Credentials go out exactly as given: a provider may really issue a secret that ends in a space."""
    value = _optional_text(options, name, strip=False)
    if not value:
        raise OAuth2Error("%s is not set: give %s (%s, or in credentials_file)." % (name, meaning, _sources(name)))
    return value


def _sources(name: str) -> str:
    """Where else an option may be set than as an argument, for a message about a missing one."""
    return "the %s argument, the oauth2_%s variable or the ANSIBLE_OAUTH2_%s environment variable" % (name, name, name.upper())


# What a PEM file of CA certificates holds; ssl reads nothing else, and would report a DER or key file as a failed verification.
PEM_CERTIFICATE_MARKERS = (b"-----BEGIN CERTIFICATE-----", b"-----BEGIN TRUSTED CERTIFICATE-----")


def _check_ca_file(ca_path: str) -> None:
    """A ca_path that cannot be the CA is said as such, not later as a provider that failed verification."""
    if not os.path.exists(ca_path):
        raise OAuth2Error("ca_path %s does not exist: give the PEM file (or directory) of the CA that signed the provider's certificate." % ca_path)
    if os.path.isdir(ca_path):
        return
    try:
        with open(ca_path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        raise OAuth2Error("ca_path %s cannot be read (%s)." % (ca_path, exc.strerror)) from None
    if not any(marker in content for marker in PEM_CERTIFICATE_MARKERS):
        raise OAuth2Error("ca_path %s holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's certificate in PEM form, "
                          "for example converted with openssl x509 -inform der -in ca.der -out ca.pem." % ca_path)


def _strings(value: Any, name: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise OAuth2Error("%s must be a string or a list of strings." % name)
    return tuple(item.strip() for item in items if item.strip())


def _words(value: Any, name: str) -> Tuple[str, ...]:
    """Scopes may come as a list, a space-separated string, or both mixed; the wire form is space-joined."""
    words: List[str] = []
    for item in _strings(value, name):
        for word in item.split():
            if word not in words:
                words.append(word)
    return tuple(words)


def _extra_params(value: Any) -> Tuple[Tuple[str, str], ...]:
    if not value:
        return ()
    if not isinstance(value, Mapping):
        raise OAuth2Error("extra_params must be a dictionary of form fields, not %s." % type(value).__name__)
    for key in value:
        if not isinstance(key, str):
            raise OAuth2Error("extra_params has the field name %s, which is not a string: quote it ('%s')." % (shown(key), shown(key)))
    pairs: List[Tuple[str, str]] = []
    for key in sorted(value):
        if key in RESERVED_PARAMS:
            raise OAuth2Error(
                "extra_params may not set %r: use the %s option instead." % (key, key)
                if key in OPTION_NAMES
                else "extra_params may not set %r: the client sets it itself." % key
            )
        items = value[key] if isinstance(value[key], (list, tuple)) else [value[key]]
        for item in items:
            if isinstance(item, bool):
                item = "true" if item else "false"
            if not isinstance(item, (str, int, float)):
                raise OAuth2Error("extra_params[%r] must be a string, number, boolean or list of those." % key)
            pairs.append((str(key), str(item)))
    return tuple(pairs)


def _boolean(value: Any, name: str) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    raise OAuth2Error("%s must be true or false, not %r." % (name, value))


def time_bound(timeout: float, retries: int, max_retry_wait: float) -> float:
    """(retries + 1) attempts of at most timeout each, and a wait of at most max_retry_wait before each retry;
    discovery, the token request and the cache lock wait all share it."""
    return (retries + 1) * timeout + retries * max_retry_wait


def _number(options: Mapping[str, Any], name: str, default: Any, allow_low: bool) -> Any:
    """A finite number within NUMBER_RANGES[name]; retries must be a whole number."""
    value = options.get(name)
    if value is None:
        return default
    low, high = NUMBER_RANGES[name]
    whole = name in WHOLE_NUMBERS
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    # nan fails every comparison and inf is beyond every range, so neither gets through.
    in_range = low <= number <= high if allow_low else low < number <= high
    if not in_range or whole and not number.is_integer():
        raise OAuth2Error("%s must be %s %s, not %r." % (
            name, "a whole number" if whole else "a number of seconds", ("from %d to %d" if allow_low else "above %d and at most %d") % (low, high), value))
    return int(number) if whole else number
