# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTPS to the provider: TLS settings, timeouts, and one readable line for every way a request can fail.

requests is imported on first use, so a front end that answers from cache never pays for it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import REDACTED, OAuth2Error

# A token or discovery answer is a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 1024 * 1024
# requests drops proxies set to None, also those it would take from HTTP_PROXY / ALL_PROXY.
NO_PROXIES = {"http": None, "all": None}
# Whatever stands between // and the last @ of the authority: what both parsers take for userinfo.
_USERINFO = re.compile(r"//[^/?#]*@")


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    content_type: str
    body: bytes


def require_secure_url(url: str, name: str) -> str:
    """The one rule for every URL the collection connects to: https, or plain http to a loopback address.

    requests connects to the host that urllib3's parse_url reads, so the rule is applied to that reading.
    A URL that Python's urlsplit reads differently (a backslash, a percent-encoded host) is refused, so no
    check elsewhere can be fooled by it; so is userinfo, which requests would send in place of the client's
    own credentials. Messages never show the userinfo.
    """
    from urllib3.exceptions import LocationParseError  # pylint: disable=import-outside-toplevel
    from urllib3.util import parse_url  # pylint: disable=import-outside-toplevel

    unsafe = _unsafe_character(url)
    if unsafe:
        raise OAuth2Error(
            "%s contains %s, which URL parsers read differently: remove it, or percent-encode it in the path "
            "(international host names in their xn-- form)." % (name, unsafe)
        )
    shown = _USERINFO.sub("//%s@" % REDACTED, url)
    try:
        parsed, parts = parse_url(url), urlsplit(url)
        port = parts.port
    except (LocationParseError, ValueError):
        raise OAuth2Error("%s %r is not an absolute https:// URL." % (name, shown)) from None
    if "@" in parts.netloc:
        raise OAuth2Error(
            "%s %s carries a user name or password before '@': remove it, the client authenticates with client_id "
            "and client_secret." % (name, shown)
        )
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise OAuth2Error("%s %r is not an absolute https:// URL." % (name, shown))
    if (parsed.scheme, parsed.host, parsed.port) != (parts.scheme, "[%s]" % host if ":" in host else host, port):
        raise OAuth2Error(
            "%s %s is read as different hosts by Python and by requests: write the host plainly, as a name or an IP address." % (name, shown)
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise OAuth2Error(
            "%s %s uses plain http, which would send the client secret and token unencrypted: "
            "use https:// (plain http is accepted only for loopback hosts such as 127.0.0.1, ::1 and localhost)." % (name, shown)
        )
    return url


def _unsafe_character(url: str) -> Optional[str]:
    """What in the URL parsers disagree on: urllib3 ends the host at a backslash, urlsplit does not; urlsplit drops
    tabs and newlines, and requests strips leading spaces."""
    for character in url:
        if character == "\\":
            return "a backslash"
        if character <= " " or character == "\x7f":
            return "a space or control character"
        if character > "\x7f":
            return "a non-ASCII character"
    return None


def _is_loopback(host: str) -> bool:
    """localhost, or a loopback address in its canonical form only: Python and the system resolver disagree on
    spellings such as 2130706433, 0x7f.1 or 0127.0.0.1 (octal 87.0.0.1 to inet_aton, 127.0.0.1 to older Pythons)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback and str(address) == host


def _no_netrc(request: Any) -> Any:
    """Session auth that adds nothing: while any auth is set, requests never fills in ~/.netrc credentials
    in place of the client's own, and trust_env still brings HTTPS_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE."""
    return request


class Transport:
    """One HTTP session to the provider, shared by discovery and the token request."""

    def __init__(self, validate_certs: bool = True, ca_path: Optional[str] = None, timeout: float = 10.0,
                 client_cert: Optional[Tuple[str, str]] = None) -> None:
        # verify is passed with every request: REQUESTS_CA_BUNDLE would override it on the session.
        self._verify: Any = (ca_path or True) if validate_certs else False
        # The client's certificate and key files, presented on every connection (mutual TLS, RFC 8705).
        self._client_cert = client_cert
        self._timeout = timeout
        self._session: Any = None

    def get(self, url: str, what: str) -> HttpResponse:
        return self._send("GET", url, what, headers={"Accept": "application/json"})

    def post_form(self, url: str, what: str, form: List[Tuple[str, str]], headers: Dict[str, str]) -> HttpResponse:
        return self._send("POST", url, what, data=form, headers=dict(headers, Accept="application/json"))

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> HttpResponse:
        import requests  # pylint: disable=import-outside-toplevel
        from urllib3.exceptions import InsecureRequestWarning  # pylint: disable=import-outside-toplevel

        require_secure_url(url, what)
        if self._session is None:
            self._session = requests.Session()
            self._session.auth = _no_netrc
        try:
            with warnings.catch_warnings():
                # validate_certs: false was asked for explicitly; urllib3's per-request warning adds nothing.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                # Redirects are not followed: a token request re-sent elsewhere could carry the secret with it.
                # Plain http is loopback only (require_secure_url), and must not reach a proxy in cleartext.
                response = self._session.request(
                    method, url, timeout=self._timeout, verify=self._verify, cert=self._client_cert, allow_redirects=False, stream=True,
                    proxies=NO_PROXIES if url[:5].lower() == "http:" else None, **kwargs
                )
                with response:
                    body = response.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
        except requests.exceptions.SSLError as exc:
            raise OAuth2Error(
                "%s %s failed TLS verification (%s): set ca_path to the CA that issued the provider's certificate."
                % (what, url, _tls_reason(exc))
            ) from None
        except requests.exceptions.Timeout:
            raise OAuth2Error(
                "%s %s did not answer within %g seconds: check that the provider is reachable, or raise timeout." % (what, url, self._timeout)
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise OAuth2Error("%s %s is unreachable: %s." % (what, url, _connection_reason(exc))) from None
        except requests.exceptions.RequestException as exc:
            raise OAuth2Error("%s %s failed: %s." % (what, url, type(exc).__name__)) from None
        if len(body) > MAX_BODY_BYTES:
            raise OAuth2Error("%s %s answered with more than %d bytes, which is no OAuth response: check the URL." % (what, url, MAX_BODY_BYTES))
        if 300 <= response.status_code < 400:
            raise OAuth2Error(
                "%s %s redirects (HTTP %d) to %s: redirects are not followed, so configure the final URL."
                % (what, url, response.status_code, response.headers.get("Location", "an unnamed location"))
            )
        return HttpResponse(url=url, status=response.status_code, content_type=response.headers.get("Content-Type", ""), body=body)


def _causes(exc: BaseException) -> List[BaseException]:
    """The chain under a requests error: urllib3 hides the real cause in .reason and in args."""
    seen: List[BaseException] = []
    pending: List[Any] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or current in seen:
            continue
        seen.append(current)
        pending.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
        pending.extend(current.args)
    return seen


def _tls_reason(exc: BaseException) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
            return "certificate verify failed: %s" % cause.verify_message
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError):
            return cause.reason or "TLS handshake failed"
    return "TLS handshake failed"


def _connection_reason(exc: BaseException) -> str:
    causes = _causes(exc)
    if any(isinstance(cause, socket.gaierror) for cause in causes) or any("NameResolution" in type(c).__name__ for c in causes):
        return "its host name could not be resolved; check the URL and DNS"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return "connection refused; check the host and port and that the provider is running"
    return "the connection failed; check the URL, proxies and firewalls"
