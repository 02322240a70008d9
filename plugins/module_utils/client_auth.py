# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the client proves who it is at the token endpoint (RFC 6749 section 2.3, RFC 7521, RFC 7523, RFC 8705).

Each method adds its credential to an outgoing token request, names the strings that must never be
shown, and says which key material keys the token cache, so that a cache entry tells nothing to whoever
lacks that credential. PyJWT and cryptography are imported only when an assertion is signed; an assertion
made elsewhere (a CI job's identity token) is read with the standard library, since that also runs on a cache hit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import stat
import time
import uuid
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote, quote_plus

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, shown, utc_time
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_in_output

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# An assertion lives a minute, or as long as the attempt it is sent with may take plus this much clock skew.
ASSERTION_LIFETIME = 60
ASSERTION_CLOCK_SKEW = 30
SECRET_ALGORITHMS = ("HS256", "HS384", "HS512")
# Which signature algorithms each kind of private key can make; the first is the default.
KEY_ALGORITHMS = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC secp256r1": ("ES256",),
    "EC secp384r1": ("ES384",),
    "EC secp521r1": ("ES512",),
    "Ed25519": ("EdDSA",),
}
ASSERTION_ALGORITHMS = SECRET_ALGORITHMS + tuple(alg for algs in KEY_ALGORITHMS.values() for alg in algs)
# An identity token of a CI job or a Kubernetes service account is a kilobyte or two; a file far larger is not one.
MAX_ASSERTION_BYTES = 64 * 1024
BASE64URL = re.compile(r"[A-Za-z0-9_-]+\Z")

# Parsed private keys of this process, by a digest of their PEM text and passphrase: parsing an RSA key costs milliseconds.
_PARSED_KEYS: Dict[str, Any] = {}


class ClientAuth:
    """A client authentication method; subclasses fill in the request."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str], endpoint: str) -> None:
        raise NotImplementedError

    def sensitive_values(self) -> Tuple[str, ...]:
        """Every string that must be blanked out of messages."""
        return ()

    def cache_secret(self) -> str:
        """The credential the token cache's keys derive from: whoever lacks it learns nothing from a cache file."""
        raise NotImplementedError

    def refusal_hint(self) -> str:
        """What to check when the provider answers invalid_client: only what this method sends."""
        raise NotImplementedError

    def check(self) -> None:
        """Raises before any request is made when the credential cannot be sent as it is (an expired client assertion)."""


class _SecretAuth(ClientAuth):
    """Methods built on the client secret."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        super().__init__(client_id)
        self._client_secret = client_secret

    def sensitive_values(self) -> Tuple[str, ...]:
        """Raw, form- and percent-encoded, and inside a Basic header."""
        secret = self._client_secret
        return (secret, quote_plus(secret), quote(secret, safe=""), _basic_credentials(self.client_id, secret))

    def cache_secret(self) -> str:
        return self._client_secret


class ClientSecretBasic(_SecretAuth):
    """HTTP Basic with percent-encoded id and secret (RFC 6749 section 2.3.1).

    A space is sent as %20, not +: form decoders and plain percent-decoders (Authlib's, for one) read %20 alike.
    """

    def refusal_hint(self) -> str:
        return "check client_id and client_secret; if they are right, the client may be registered for auth_method client_secret_post"

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str], endpoint: str) -> None:
        headers["Authorization"] = "Basic " + _basic_credentials(self.client_id, self._client_secret)


class ClientSecretPost(_SecretAuth):
    """Id and secret as form fields, for clients registered that way (OneLogin's "POST" method)."""

    def refusal_hint(self) -> str:
        return "check client_id and client_secret; if they are right, the client may be registered for auth_method client_secret_basic"

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str], endpoint: str) -> None:
        form.extend((("client_id", self.client_id), ("client_secret", self._client_secret)))


class _AssertionAuth(ClientAuth):
    """A signed JWT that says who the client is, for this endpoint, for one attempt (RFC 7523 section 2.2).

    Each call makes a new one (new jti, iat, exp): providers refuse an assertion they have seen, so a retry sends its own.
    """

    def __init__(self, client_id: str, algorithm: Optional[str], audience: Optional[str], timeout: float, key_id: Optional[str] = None) -> None:
        super().__init__(client_id)
        self._algorithm = algorithm
        self._audience = audience
        self._key_id = key_id
        self._lifetime = max(ASSERTION_LIFETIME, int(math.ceil(timeout)) + ASSERTION_CLOCK_SKEW)
        # Every assertion made: a provider that echoes one in its error must not get it printed (it is a credential while it lives).
        self._assertions: List[str] = []

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str], endpoint: str) -> None:
        import jwt  # pylint: disable=import-outside-toplevel

        key, algorithm = self._signing_key()
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self._audience or endpoint,
                  "jti": uuid.uuid4().hex, "iat": now, "exp": now + self._lifetime}
        with warnings.catch_warnings():
            # PyJWT warns of a short HMAC key; the provider chose the secret, and the output is no place for it.
            warnings.simplefilter("ignore")
            assertion = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": self._key_id} if self._key_id else None)
        self._assertions.append(assertion)
        form.extend((("client_id", self.client_id), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion)))

    def sensitive_values(self) -> Tuple[str, ...]:
        return tuple(self._assertions)

    def _signing_key(self) -> Tuple[Any, str]:
        raise NotImplementedError


class ClientSecretJwt(_AssertionAuth):
    """The assertion signed with the client secret (HMAC); the secret itself never travels."""

    def __init__(self, client_id: str, client_secret: str, algorithm: Optional[str], audience: Optional[str], timeout: float) -> None:
        super().__init__(client_id, algorithm, audience, timeout)
        self._client_secret = client_secret
        if algorithm and algorithm not in SECRET_ALGORITHMS:
            raise OAuth2Error("client_assertion_algorithm %s does not fit client_secret_jwt: use one of %s."
                              % (algorithm, ", ".join(SECRET_ALGORITHMS)))

    def sensitive_values(self) -> Tuple[str, ...]:
        return (self._client_secret, quote_plus(self._client_secret)) + super().sensitive_values()

    def cache_secret(self) -> str:
        return self._client_secret

    def refusal_hint(self) -> str:
        return ("check client_id and client_secret, that the client is registered for client_secret_jwt with the assertion's "
                "algorithm (client_assertion_algorithm, default HS256), and its audience (client_assertion_audience)")

    def _signing_key(self) -> Tuple[Any, str]:
        return self._client_secret, self._algorithm or SECRET_ALGORITHMS[0]


class PrivateKeyJwt(_AssertionAuth):
    """The assertion signed with the client's private key; only the public key is registered at the provider."""

    def __init__(self, client_id: str, private_key: str, passphrase: Optional[str], algorithm: Optional[str],
                 audience: Optional[str], key_id: Optional[str], timeout: float) -> None:
        super().__init__(client_id, algorithm, audience, timeout, key_id)
        self._private_key = private_key
        self._passphrase = passphrase

    def sensitive_values(self) -> Tuple[str, ...]:
        return tuple(value for value in (self._private_key, self._passphrase) if value) + super().sensitive_values()

    def refusal_hint(self) -> str:
        return ("check client_id, that the provider holds the public key of private_key%s, and the assertion's algorithm "
                "(client_assertion_algorithm) and audience (client_assertion_audience)"
                % (" under the key id private_key_id %s" % self._key_id if self._key_id else " (set private_key_id if it knows the key by a kid)"))

    def cache_secret(self) -> str:
        # With its passphrase: whoever holds an encrypted key file, but not the passphrase, learns nothing from the cache.
        return self._private_key if self._passphrase is None else "%s\0%s" % (self._private_key, self._passphrase)

    def _signing_key(self) -> Tuple[Any, str]:
        key = load_private_key(self._private_key, self._passphrase)
        allowed = KEY_ALGORITHMS[key_kind(key)]
        algorithm = self._algorithm or allowed[0]
        if algorithm not in allowed:
            raise OAuth2Error("client_assertion_algorithm %s does not fit the %s private_key: use %s."
                              % (algorithm, key_kind(key), " or ".join(allowed)))
        return key, algorithm


class TlsClientAuth(ClientAuth):
    """Mutual TLS (RFC 8705): the certificate on the connection authenticates; the body names the client."""

    def __init__(self, client_id: str, client_key_material: str) -> None:
        super().__init__(client_id)
        self._client_key_material = client_key_material

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str], endpoint: str) -> None:
        form.append(("client_id", self.client_id))

    def sensitive_values(self) -> Tuple[str, ...]:
        return (self._client_key_material,)

    def refusal_hint(self) -> str:
        return ("check client_id, and that client_cert is the certificate the client is registered with (its subject) and is issued "
                "by a CA the provider trusts for client certificates")

    def cache_secret(self) -> str:
        return self._client_key_material


class ClientAssertion(ClientAuth):
    """An assertion made elsewhere, sent as it is (RFC 7521 section 4.2, RFC 7523 section 2.2): the identity token of a CI
    job, a Kubernetes service account or another workload, which the provider trusts through a federated credential.

    client_assertion_file is read again for every use, since CI runners and the kubelet replace it under a running job.
    The claims are read without verification, which is the provider's to do: here they only tell early that an assertion
    is no JWT or has expired, and whose token the cache holds. Every assertion read is a secret while it lives.
    """

    def __init__(self, client_id: str, assertion: Optional[str], path: Optional[str], assertion_type: str,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(client_id)
        self._assertion = assertion
        self._path = path
        self._type = assertion_type
        self._clock = clock
        self._read: List[str] = []
        self._claims: Dict[str, Any] = {}

    def check(self) -> None:
        self._current(unexpired=True)

    def authenticate(self, form: List[Tuple[str, str]], headers: Dict[str, str], endpoint: str) -> None:
        assertion = self._current(unexpired=True)
        form.extend((("client_id", self.client_id), ("client_assertion_type", self._type), ("client_assertion", assertion)))

    def sensitive_values(self) -> Tuple[str, ...]:
        return tuple(self._read)

    def cache_secret(self) -> str:
        """No secret: the workload the assertion speaks for (its iss, sub and aud) and its type. Each job's assertion is new
        (its jti, iat and exp), so keying by it would never find a token again; keyed by the workload, the next assertion
        of the same workload finds the token the last one obtained, and another workload's never does. What keeps an entry
        from others is the per-user key of the cache (<cache_dir>.key) alone, and the permissions around it.

        An expired assertion still names its workload: a token cached with it is handed out while it lasts, and only a
        new request needs a new assertion."""
        self._current(unexpired=False)
        claims = self._claims
        return json.dumps(["client_assertion", self._type, claims.get("iss"), claims.get("sub"), claims.get("aud")],
                          sort_keys=True, separators=(",", ":"))

    def refusal_hint(self) -> str:
        claims = self._claims
        return ("check that the provider trusts this client's assertions from issuer %s with subject %s and audience %s (its federated "
                "credential must name exactly these)%s, and that the assertion is valid by the provider's clock (%s)" % (
                    _claim(claims, "iss"), _claim(claims, "sub"), _claim(claims, "aud"),
                    "" if self._type == ASSERTION_TYPE else " and accepts client_assertion_type %s" % self._type,
                    "expires %s" % utc_time(claims["exp"]) if _is_time(claims.get("exp")) else "it has no exp"))

    def _current(self, unexpired: bool) -> str:
        """The assertion to send now, from the option or read from the file again, once it is known to be a JWT (and unexpired)."""
        if self._path is None:
            name, assertion = "client_assertion", (self._assertion or "").strip()
        else:
            name, assertion = "client_assertion_file %s" % self._path, _read_assertion_file(self._path)
        if assertion and assertion not in self._read:
            self._read.append(assertion)
            mask_in_output((assertion,))
        self._claims = _unverified_claims(assertion, name)
        exp = self._claims.get("exp")
        if exp is not None and not _is_time(exp):
            raise OAuth2Error("%s has an exp claim that is not a time: give the identity token as its issuer made it." % name)
        if unexpired and exp is not None and exp <= self._clock():
            raise OAuth2Error("%s expired at %s; identity tokens of CI jobs live minutes: request it in the job that runs the play." % (
                name if self._path is None else name + " holds an assertion that", utc_time(exp)))
        return assertion


def _read_assertion_file(path: str) -> str:
    """The file's text, read where the token is requested; never from a FIFO or device, which could hang or never end."""
    chunks: List[bytes] = []
    regular = False
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
            while regular and sum(map(len, chunks)) <= MAX_ASSERTION_BYTES:
                chunk = os.read(descriptor, MAX_ASSERTION_BYTES + 1)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise OAuth2Error("client_assertion_file %s cannot be read (%s): give the absolute path of the identity token's file where the "
                          "token is requested (the controller for the lookup and api_call, the host the token module runs on)."
                          % (path, exc.strerror)) from None
    if not regular:
        raise OAuth2Error("client_assertion_file %s is not a regular file: give the file that holds the identity token." % path)
    # A JWT is ASCII; anything else fails the check that follows, which says so without showing it.
    return b"".join(chunks).decode("ascii", "replace").strip()


def _unverified_claims(assertion: str, name: str) -> Dict[str, Any]:
    """The payload of a JWT, decoded but not verified; the error says what the value looks like, never the value."""
    if not assertion:
        what_to_do = "give the identity token itself" if name == "client_assertion" else "write the identity token to it before the play runs"
        raise OAuth2Error("%s is empty: %s." % (name, what_to_do))
    parts = assertion.split(".")
    try:
        if len(assertion) > MAX_ASSERTION_BYTES or len(parts) != 3 or not all(BASE64URL.match(part) for part in parts):
            raise ValueError
        header, claims = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2])
    except (ValueError, RecursionError):  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        header = claims = None
    if isinstance(header, dict) and isinstance(claims, dict):
        return claims
    if assertion.startswith("{"):
        looks = "JSON, not a JWT: give the token itself (of GitHub's ID token answer, its value field: jq -r .value)"
    elif assertion.lower().startswith("bearer "):
        looks = "an Authorization header, not a JWT: give the token without its Bearer prefix"
    else:
        looks = "not a JWT (three base64url parts separated by dots, the first two JSON objects): give the identity token itself"
    raise OAuth2Error("%s is %s (%d characters, not shown)." % (name, looks, len(assertion)))


def _is_time(value: Any) -> bool:
    """A JWT NumericDate this code can compare and print: a finite number of seconds, within Python's dates."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 253402300800  # 10000-01-01


def _claim(claims: Dict[str, Any], name: str) -> str:
    return shown(claims[name], 200) if claims.get(name) not in (None, "", []) else "(none: the assertion has no %s)" % name


AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "tls_client_auth", "client_assertion")
# How a provider's discovery document names a method whose auth_method differs: an assertion made elsewhere goes over the
# wire as private_key_jwt's own does (token_endpoint_auth_methods_supported has no other name for it).
ADVERTISED_AS = {"client_assertion": "private_key_jwt"}


def client_auth_for(options: Any) -> ClientAuth:
    """The method options.auth_method names, with the credentials it uses (ClientOptions checked they are there)."""
    method = options.auth_method
    if method == "client_secret_basic":
        return ClientSecretBasic(options.client_id, options.client_secret)
    if method == "client_secret_post":
        return ClientSecretPost(options.client_id, options.client_secret)
    if method == "client_secret_jwt":
        return ClientSecretJwt(options.client_id, options.client_secret, options.client_assertion_algorithm, options.client_assertion_audience,
                               options.timeout)
    if method == "private_key_jwt":
        return PrivateKeyJwt(options.client_id, options.private_key, options.private_key_passphrase, options.client_assertion_algorithm,
                             options.client_assertion_audience, options.private_key_id, options.timeout)
    if method == "client_assertion":
        return ClientAssertion(options.client_id, options.client_assertion, options.client_assertion_file, options.client_assertion_type)
    if options.client_key_content:
        return TlsClientAuth(options.client_id, options.client_key_content)
    try:
        with open(options.client_key, "rb") as handle:
            key_material = handle.read().decode("utf-8", "replace")
    except OSError as exc:
        raise OAuth2Error("client_key %s cannot be read (%s)." % (options.client_key, exc.strerror)) from None
    return TlsClientAuth(options.client_id, key_material)


def choose_auth_method(configured: Optional[str], has_private_key: bool, has_client_cert: bool, has_secret: bool,
                       has_assertion: bool = False) -> str:
    """The method asked for, else the one the credentials given imply; client_secret_basic stays the default."""
    if configured:
        return configured
    if has_assertion:
        return "client_assertion"
    if has_private_key:
        return "private_key_jwt"
    if has_client_cert and not has_secret:
        return "tls_client_auth"
    return "client_secret_basic"


def load_private_key(pem: str, passphrase: Optional[str], name: str = "private_key") -> Any:
    """The parsed key, once per process; a failure names the option (name), never the key. Only private_key has a
    passphrase option; another key (dpop_private_key) is kept unencrypted inside an ansible-vault file."""
    digest = hashlib.sha256(("%s\0%s" % (pem, passphrase or "")).encode("utf-8")).hexdigest()
    if digest not in _PARSED_KEYS:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key  # pylint: disable=import-outside-toplevel

        with_passphrase = name == "private_key"
        try:
            key = load_pem_private_key(pem.encode("utf-8"), passphrase.encode("utf-8") if passphrase else None)
        except TypeError:
            if not with_passphrase:
                raise OAuth2Error("%s is protected by a passphrase: store it without one (openssl pkey -in key.pem -out plain.pem) and "
                                  "encrypt that file with ansible-vault instead." % name) from None
            raise OAuth2Error("private_key is encrypted: give its passphrase as private_key_passphrase." if not passphrase
                              else "private_key is not encrypted: remove private_key_passphrase.") from None
        except ValueError:
            raise OAuth2Error("%s is not a PEM private key%s: give the PEM text (-----BEGIN PRIVATE KEY-----) or its file as %s_path."
                              % (name, ", or private_key_passphrase does not open it" if with_passphrase else "", name)) from None
        if key_kind(key) not in KEY_ALGORITHMS:
            raise OAuth2Error("%s is a key of type %s: use an RSA, EC (P-256, P-384, P-521) or Ed25519 key." % (name, key_kind(key)))
        _PARSED_KEYS[digest] = key
    return _PARSED_KEYS[digest]


def key_kind(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # pylint: disable=import-outside-toplevel

    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "EC " + key.curve.name
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    return type(key).__name__.replace("PrivateKey", "") or type(key).__name__


def _basic_credentials(client_id: str, client_secret: str) -> str:
    pair = "%s:%s" % (quote(client_id, safe=""), quote(client_secret, safe=""))
    return base64.b64encode(pair.encode("utf-8")).decode("ascii")
