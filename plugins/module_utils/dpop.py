# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DPoP (RFC 9449): a key the client proves it holds with every request, so a stolen token is useless without it.

A DPoP-bound token names the thumbprint of the client's public key; each request to the token endpoint or to the
API carries a fresh proof, a JWT signed with that key and bound to the method, the URL, the token's hash and, when
the server asks for one, its nonce. Imported only where a proof is made; PyJWT and cryptography load with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_auth import KEY_ALGORITHMS, key_kind, load_private_key

# The answer of a server that wants its nonce in the proof: the token endpoint's error, and the API's WWW-Authenticate.
USE_DPOP_NONCE = "use_dpop_nonce"
_QUOTED_PAIR = re.compile(r"\\(.)")
_CHALLENGE_PARAMETER = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))')


class DpopKey:
    """The client's DPoP key pair: makes proofs, and names the public key the tokens it obtains are bound to."""

    def __init__(self, private_key_pem: str, name: str = "dpop_private_key") -> None:
        self.private_key_pem = private_key_pem
        self._key = load_private_key(private_key_pem, None, name)
        self.algorithm = KEY_ALGORITHMS[key_kind(self._key)][0]
        self.public_jwk = _public_jwk(self._key)
        # Every proof made: each is a credential while it lives, and never to be shown.
        self.proofs: list = []

    @classmethod
    def generate(cls) -> "DpopKey":
        """A new P-256 key (ES256), the algorithm every DPoP server supports."""
        from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel

        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return cls(pem.decode("ascii"))

    @property
    def thumbprint(self) -> str:
        """The JWK thumbprint (RFC 7638) a bound token carries as cnf.jkt."""
        required = {name: self.public_jwk[name] for name in _THUMBPRINT_MEMBERS[self.public_jwk["kty"]]}
        return _b64(hashlib.sha256(json.dumps(required, separators=(",", ":"), sort_keys=True).encode("utf-8")).digest())

    def proof(self, method: str, url: str, access_token: Optional[str] = None, nonce: Optional[str] = None) -> str:
        """A proof for one request: a new jti each time, so a server that saw it once refuses it again."""
        import jwt  # pylint: disable=import-outside-toplevel

        claims: Dict[str, Any] = {"jti": uuid.uuid4().hex, "htm": method.upper(), "htu": _target_uri(url), "iat": int(time.time())}
        if access_token is not None:
            claims["ath"] = _b64(hashlib.sha256(access_token.encode("ascii", "replace")).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        proof = jwt.encode(claims, self._key, algorithm=self.algorithm, headers={"typ": "dpop+jwt", "jwk": self.public_jwk})
        self.proofs.append(proof)
        return proof


def nonce_requested(status: int, headers: Mapping[str, str], error_code: Optional[str] = None) -> Optional[str]:
    """The nonce a server asks the next proof to carry, if this answer is that request.

    The token endpoint says so with the OAuth error use_dpop_nonce (error_code); a resource server with HTTP 401 and
    WWW-Authenticate: DPoP error="use_dpop_nonce". Either sends the nonce as DPoP-Nonce.
    """
    nonce = _header(headers, "DPoP-Nonce")
    if not nonce:
        return None
    if error_code == USE_DPOP_NONCE or status == 401 and ("error", USE_DPOP_NONCE) in _challenge_parameters(headers):
        return nonce
    return None


def challenge(headers: Mapping[str, str]) -> Dict[str, str]:
    """The parameters of a WWW-Authenticate challenge (RFC 6750 section 3), such as error and error_description; of
    several challenges (repeated headers arrive joined with ", "), the first one's."""
    parameters: Dict[str, str] = {}
    for name, value in _challenge_parameters(headers):
        parameters.setdefault(name, value)
    return parameters


def _challenge_parameters(headers: Mapping[str, str]) -> List[Tuple[str, str]]:
    """Every name and value of every challenge, in order; a quoted-pair stands for the character after the backslash."""
    return [(name.lower(), _QUOTED_PAIR.sub(r"\1", quoted) if quoted or not bare else bare)
            for name, quoted, bare in _CHALLENGE_PARAMETER.findall(_header(headers, "WWW-Authenticate") or "")]


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    """A header by name, whatever case the server or the HTTP library gave it."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _target_uri(url: str) -> str:
    """htu: the request URL without its query and fragment (RFC 9449 section 4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


_THUMBPRINT_MEMBERS: Dict[str, Tuple[str, ...]] = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
_CURVES = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48), "secp521r1": ("P-521", 66)}


def _public_jwk(private_key: Any) -> Dict[str, str]:
    """The public half as a JWK, for the proof's header; never a private member."""
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec, rsa  # pylint: disable=import-outside-toplevel

    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"kty": "RSA", "n": _b64_integer(numbers.n), "e": _b64_integer(numbers.e)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        curve, size = _CURVES[public.curve.name]
        numbers = public.public_numbers()
        return {"kty": "EC", "crv": curve, "x": _b64(numbers.x.to_bytes(size, "big")), "y": _b64(numbers.y.to_bytes(size, "big"))}
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}


def _b64_integer(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
