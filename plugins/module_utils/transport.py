# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTPS to the provider: TLS settings, retries, one deadline, and one readable line for every way a request can fail.

Each attempt is a request of its own, built anew (a client assertion is good for one attempt only); urllib3's Retry
decides whether and when another follows, and _Retry adds only what it lacks: a cap on Retry-After, jitter, the
deadline, and a log line per retry. The deadline is kept by a watchdog that shuts every socket of the exchange, so it
holds through the TLS handshake, the status line, the headers and the body alike. This module is imported only when a
request is to be made, so a front end that answers from cache never pays for requests.
"""

from __future__ import annotations

import contextlib
import contextvars
import http.client
import ipaddress
import os
import random
import re
import signal
import socket
import ssl
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import time_bound
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import REDACTED, OAuth2Error

try:
    from requests.adapters import HTTPAdapter
    from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.poolmanager import pool_classes_by_scheme
    from urllib3.util.retry import Retry
except ImportError:  # without requests and urllib3 no request is made: fetch_token says what to install first
    HTTPAdapter = HTTPConnectionPool = HTTPSConnectionPool = HTTPConnection = HTTPSConnection = Retry = Timeout = object
    pool_classes_by_scheme = {}

# A token or discovery answer is a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 8192
# Only answers that say "not now" are retried; any other 4xx (a wrong secret) fails at once.
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
BACKOFF_FACTOR = 0.5
BACKOFF_JITTER = 0.5
# requests drops proxies set to None, also those it would take from HTTP_PROXY / ALL_PROXY.
NO_PROXIES = {"http": None, "all": None}
# Whatever stands between // and the last @ of the authority: what both parsers take for userinfo.
_USERINFO = re.compile(r"//[^/?#]*@")
# Form fields and headers of one attempt, built anew for each.
Request = Tuple[List[Tuple[str, str]], Dict[str, str]]
# The exchange whose watchdog the sockets being made belong to (_Plan.watch); connections look it up as they connect.
_EXCHANGE: "contextvars.ContextVar[Optional[_Plan]]" = contextvars.ContextVar("oauth2_client_credentials_exchange", default=None)


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    content_type: str
    body: bytes
    # Case-insensitive, as requests gives them; read for a DPoP-Nonce.
    headers: Mapping[str, str] = field(default_factory=dict)


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


@dataclass(frozen=True)
class ClientCertificate:
    """The client's certificate and private key, presented on every connection (mutual TLS, RFC 8705).

    Python's ssl loads a key from a path only. A key given as text (client_key_content, which a vault-encrypted
    client_key becomes on the controller) is handed over, for one request, as an anonymous in-memory file
    (memfd, Linux) that no directory lists and that ends with the process however it ends. Where there is none, it
    is a private temporary file, removed after the request, also when SIGTERM ends the process during it.
    """

    cert_path: str
    key_path: Optional[str] = None
    key_content: Optional[str] = field(default=None, repr=False)

    @contextlib.contextmanager
    def files(self) -> Iterator[Tuple[str, str]]:
        """The (certificate, key) paths for requests' cert argument, valid inside the with block only."""
        self._refuse_passphrase()
        if self.key_path is not None:
            yield self.cert_path, self.key_path
            return
        handle = _memory_file()
        if handle is not None:
            try:
                with open(handle, "w", encoding="utf-8", closefd=False) as key_file:
                    key_file.write(self.key_content or "")
                yield self.cert_path, "/proc/self/fd/%d" % handle
            finally:
                os.close(handle)
            return
        with _terminate_unwinds():
            try:
                handle, path = tempfile.mkstemp(prefix="oauth2-client-key-", suffix=".pem")  # mode 0600, created exclusively
            except OSError as exc:
                raise OAuth2Error("client_key_content cannot be written to a temporary file in %s (%s): set TMPDIR to a directory "
                                  "of yours where this runs." % (tempfile.gettempdir(), exc.strerror)) from None
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as key_file:
                    key_file.write(self.key_content or "")
                yield self.cert_path, path
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def _refuse_passphrase(self) -> None:
        """OpenSSL would ask for a key's passphrase on the terminal, and an unattended run would wait there."""
        if self.key_path is None:
            text, name = self.key_content or "", "client_key_content"
        else:
            name = "client_key %s" % self.key_path
            try:
                with open(self.key_path, "rb") as handle:
                    text = handle.read().decode("utf-8", "replace")
            except OSError as exc:
                raise OAuth2Error("%s cannot be read (%s)." % (name, exc.strerror)) from None
        if "-----BEGIN ENCRYPTED PRIVATE KEY-----" in text or "Proc-Type: 4,ENCRYPTED" in text:
            raise OAuth2Error("%s is protected by a passphrase, which mutual TLS cannot be given: store the key without one "
                              "(openssl pkey -in key.pem -out plain.pem) and encrypt that file with ansible-vault instead." % name)


def _memory_file() -> Optional[int]:
    """A descriptor of a new anonymous in-memory file that /proc/self/fd names, or None where there is no such thing."""
    if not hasattr(os, "memfd_create") or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.memfd_create("oauth2-client-key", os.MFD_CLOEXEC)
    except OSError:  # a sandbox that forbids it
        return None


@contextlib.contextmanager
def _terminate_unwinds() -> Iterator[None]:
    """SIGTERM, where nothing else handles it, raises SystemExit inside the block, so its finally clauses run; Ctrl-C's
    KeyboardInterrupt does so already. Signal handlers belong to the main thread: elsewhere the block runs as it is."""
    try:
        previous = signal.signal(signal.SIGTERM, _exit_on_terminate) if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else None
    except ValueError:
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _no_netrc(request: Any) -> Any:
    """Session auth that adds nothing: while any auth is set, requests never fills in ~/.netrc credentials
    in place of the client's own, and trust_env still brings HTTPS_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE."""
    return request


class Transport:
    """One HTTP session to the provider, shared by discovery and the token request."""

    def __init__(
        self, validate_certs: bool = True, ca_path: Optional[str] = None, timeout: float = 10.0, retries: int = 0, max_retry_wait: float = 30.0,
        client_cert: Optional[ClientCertificate] = None,
    ) -> None:
        # verify is passed with every request: REQUESTS_CA_BUNDLE would override it on the session.
        self._verify: Any = (ca_path or True) if validate_certs else False
        self._client_cert = client_cert
        self._timeout = timeout
        self._retries = retries
        self._max_retry_wait = max_retry_wait
        self._session: Any = None
        # One line per retry (attempt, cause, wait; never a header or body), for the front end to show at -vvv.
        self.debug: List[str] = []

    def get(self, url: str, what: str, deadline: Optional[float] = None) -> HttpResponse:
        return self._send("GET", url, what, deadline, lambda: ([], {}))

    def post_form(self, url: str, what: str, request: Callable[[], Request], deadline: Optional[float] = None) -> HttpResponse:
        """request builds the form and headers; it is called again for every attempt, so each carries fresh credentials."""
        return self._send("POST", url, what, deadline, request)

    def _send(self, method: str, url: str, what: str, deadline: Optional[float], request: Callable[[], Request]) -> HttpResponse:
        """deadline is a time.monotonic() value shared by every request for one token; by default this request's own bound."""
        import requests  # pylint: disable=import-outside-toplevel
        from urllib3.exceptions import InsecureRequestWarning  # pylint: disable=import-outside-toplevel

        require_secure_url(url, what)
        bound = time_bound(self._timeout, self._retries, self._max_retry_wait)
        plan = _Plan(what, url, time.monotonic() + bound if deadline is None else deadline, bound, self._timeout, self._max_retry_wait, self.debug)
        if plan.remaining() <= 0:
            raise plan.out_of_time()
        if self._session is None:
            self._session = requests.Session()
            self._session.auth = _no_netrc
            for prefix in ("https://", "http://"):
                self._session.mount(prefix, _Adapter())
        try:
            with warnings.catch_warnings():
                # validate_certs: false was asked for explicitly; urllib3's per-request warning adds nothing.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                with plan.watch():
                    # Connections are made within the attempts: a key file written for this request is gone before the body is read.
                    with self._client_cert.files() if self._client_cert else contextlib.nullcontext() as cert:
                        response = self._last_attempt(method, url, plan, cert, request)
                    with response:
                        body = plan.read_body(response.raw)
        except _request_errors() as exc:
            raise OAuth2Error(plan.failure(exc)) from None
        if plan.cut:
            # What came before the cut may parse (headers end where the socket was shut), but it is not the whole answer.
            raise plan.out_of_time()
        if 300 <= response.status_code < 400:
            raise OAuth2Error(
                "%s %s redirects (HTTP %d) to %s: redirects are not followed, so configure the final URL."
                % (what, url, response.status_code, response.headers.get("Location", "an unnamed location"))
            )
        if response.status_code in RETRY_STATUSES:
            raise OAuth2Error(plan.unavailable(response.status_code))
        return HttpResponse(url=url, status=response.status_code, content_type=response.headers.get("Content-Type", ""), body=body,
                            headers=response.headers)

    def _last_attempt(self, method: str, url: str, plan: "_Plan", cert: Any, request: Callable[[], Request]) -> Any:
        """The answer to the first attempt that is not to be retried, its body unread; the retry policy is _retry's."""
        from urllib3.exceptions import HTTPError, MaxRetryError  # pylint: disable=import-outside-toplevel

        retry = _retry(self._retries, plan)
        while True:
            form, headers = request()
            try:
                # Redirects are not followed: a token request re-sent elsewhere could carry the secret with it.
                # Plain http is loopback only (require_secure_url), and must not reach a proxy in cleartext.
                response = self._session.request(
                    method, url, data=form, headers=dict(headers, Accept="application/json"), verify=self._verify, cert=cert,
                    timeout=Timeout(total=max(0.001, min(plan.timeout, plan.remaining()))), allow_redirects=False, stream=True,
                    proxies=NO_PROXIES if url[:5].lower() == "http:" else None,
                )
            except _request_errors() as exc:
                try:
                    retry = retry.increment(method, url, error=_urllib3_error(exc))
                except HTTPError:
                    raise exc from None  # no attempt left: _send explains exc
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                try:
                    retry = retry.increment(method, url, response=response.raw)
                except MaxRetryError:
                    return response  # _send says the provider is unavailable
                response.close()
            retry.sleep()


class _Adapter(HTTPAdapter):  # type: ignore[misc,valid-type]
    """requests' adapter, with connections that hand each socket to the exchange under way (_Plan.watch).

    Its own max_retries stay 0: every attempt comes back to Transport._last_attempt, which builds the next one.
    SOCKS proxies bring connection classes of their own, which are left alone.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watched_pools(self.poolmanager)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        return _watched_pools(super().proxy_manager_for(*args, **kwargs))


def _watched_pools(manager: Any) -> Any:
    if manager.pool_classes_by_scheme is pool_classes_by_scheme:
        manager.pool_classes_by_scheme = {"http": _WatchedHTTPConnectionPool, "https": _WatchedHTTPSConnectionPool}
    return manager


class _Watched:
    """A connection that hands its socket to the exchange under way: when made, before any TLS handshake, and when
    reused by a later request of the same session."""

    sock: Any

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if self.sock is not None:
            _watch(self.sock)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):  # type: ignore[misc,valid-type]
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):  # type: ignore[misc,valid-type]
    pass


class _WatchedHTTPConnectionPool(HTTPConnectionPool):  # type: ignore[misc,valid-type]
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):  # type: ignore[misc,valid-type]
    ConnectionCls = _WatchedHTTPSConnection


class _Plan:
    """One request's deadline, attempts and retry decisions, and the line that explains how it ended."""

    def __init__(self, what: str, url: str, deadline: float, bound: float, timeout: float, max_retry_wait: float, log: List[str]) -> None:
        self.what, self.url, self.deadline, self.bound = what, url, deadline, bound
        self.timeout, self.max_retry_wait, self.log = timeout, max_retry_wait, log
        self.attempts = 1
        self.refused_wait: Optional[float] = None
        self.cut = False
        self._sockets: List[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        """Every socket the block opens or reuses is shut at the deadline. A socket's timeout bounds each read only, so a
        server that drips its handshake, its headers or its body byte by byte would otherwise hold the task without end."""
        watchdog = threading.Timer(max(0.0, self.remaining()), self._cut)
        watchdog.daemon = True
        current = _EXCHANGE.set(self)
        watchdog.start()
        try:
            yield
        finally:
            watchdog.cancel()
            _EXCHANGE.reset(current)
            with self._lock:
                for sock in self._sockets:
                    sock.close()
                self._sockets = []

    def register(self, sock: socket.socket) -> None:
        """A descriptor of sock's own: it still reaches the connection after a TLS wrap has taken over the original."""
        copy = socket.socket(fileno=os.dup(sock.fileno()))
        with self._lock:
            self._sockets.append(copy)
            if self.cut:
                _shut(copy)

    def _cut(self) -> None:
        with self._lock:
            self.cut = True
            for sock in self._sockets:
                _shut(sock)

    def admit(self, retry: Any, response: Any, error: Optional[BaseException]) -> float:
        """The wait before the next attempt. Stops the retries (MaxRetryError, as urllib3 does when they run out) when
        the server asks for longer than max_retry_wait, or when the wait and one more attempt would pass the deadline."""
        from urllib3.exceptions import InvalidHeader, MaxRetryError  # pylint: disable=import-outside-toplevel

        try:
            asked = retry.get_retry_after(response) if response is not None else None
        except (InvalidHeader, ValueError, OverflowError):  # not a number nor a date, or a date Python cannot hold (year 99999999)
            asked = None
        if asked is not None and asked > self.max_retry_wait:
            self.refused_wait = asked
            raise MaxRetryError(None, self.url, error)
        wait = asked if asked is not None else min(self.max_retry_wait, retry.get_backoff_time() + random.uniform(0, BACKOFF_JITTER))
        # Half a timeout at least must be left for the attempt after the wait, or it would only use up the bound.
        if wait + self.timeout / 2 > self.remaining():
            raise MaxRetryError(None, self.url, error)
        cause = "HTTP %d" % response.status if response is not None else type(error).__name__
        self.log.append("%s %s: attempt %d failed (%s), retrying in %.1f s" % (self.what, self.url, self.attempts, cause, wait))
        self.attempts += 1
        return wait

    def read_body(self, raw: Any) -> bytes:
        """The body in chunks, its decoded size capped as it grows, so a small compressed body cannot expand into memory."""
        chunks: List[bytes] = []
        size = 0
        while size <= MAX_BODY_BYTES:
            chunk = raw.read(READ_CHUNK_BYTES, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        raise OAuth2Error("%s %s answered with more than %d bytes, which is no OAuth response: check the URL." % (self.what, self.url, MAX_BODY_BYTES))

    def out_of_time(self) -> OAuth2Error:
        return OAuth2Error(
            "%s %s did not finish within %g seconds, the bound for one token ((retries + 1) x timeout + retries x max_retry_wait): "
            "the provider is too slow or unavailable; try again later, or raise timeout, retries or max_retry_wait." % (self.what, self.url, self.bound)
        )

    def unavailable(self, status: int) -> str:
        if self.refused_wait is not None:
            return "%s %s answered HTTP %d and asks to retry after %g seconds, longer than max_retry_wait (%g): try again later, or raise max_retry_wait." % (
                self.what, self.url, status, self.refused_wait, self.max_retry_wait)
        return "%s %s answered HTTP %d%s: the provider is unavailable or rate-limiting; try again later, or raise retries or max_retry_wait." % (
            self.what, self.url, status, self._after())

    def failure(self, exc: BaseException) -> str:
        """One line for a request that raised; the cause is read from the whole chain, wherever urllib3 put it."""
        from urllib3.exceptions import DecodeError, NewConnectionError, ProtocolError  # pylint: disable=import-outside-toplevel
        from urllib3.exceptions import TimeoutError as Urllib3Timeout  # pylint: disable=import-outside-toplevel

        causes = _causes(exc)
        if self.cut or self.remaining() <= 0:
            return str(self.out_of_time())
        client_key_problem = _client_key_problem(causes)
        if client_key_problem:
            return "client_cert cannot be presented to %s %s (%s): give the PEM certificate and the private key that belongs to it." % (
                self.what, self.url, client_key_problem)
        if any(isinstance(cause, ssl.SSLError) or type(cause).__name__ == "SSLError" for cause in causes):
            return "%s %s failed TLS verification (%s): set ca_path to the CA that issued the provider's certificate." % (
                self.what, self.url, _tls_reason(exc))
        if any(isinstance(cause, (socket.timeout, Urllib3Timeout)) and not isinstance(cause, NewConnectionError) for cause in causes):
            return "%s %s did not answer within %g seconds%s: check that the provider is reachable, or raise timeout." % (
                self.what, self.url, self.timeout, self._after())
        if any(isinstance(cause, DecodeError) for cause in causes):
            return "%s %s sent a body that does not decode as its Content-Encoding says: check the provider and any proxy in between." % (
                self.what, self.url)
        if any(isinstance(cause, (ProtocolError, http.client.HTTPException)) for cause in causes):
            return "%s %s closed the connection before a complete answer%s: check the provider and any proxy in between." % (
                self.what, self.url, self._after())
        if any(isinstance(cause, (ConnectionError, NewConnectionError, socket.gaierror)) for cause in causes) or "ConnectionError" in {
                type(cause).__name__ for cause in causes}:
            return "%s %s is unreachable%s: %s." % (self.what, self.url, self._after(), _connection_reason(exc))
        return "%s %s failed (%s): check the URL and the provider." % (self.what, self.url, type(exc).__name__)

    def _after(self) -> str:
        return " after %d attempts" % self.attempts if self.attempts > 1 else ""


def _request_errors() -> Tuple[type, ...]:
    """Every way requests and urllib3 report a request that failed, from a refused connection to a broken body."""
    from requests.exceptions import RequestException  # pylint: disable=import-outside-toplevel
    from urllib3.exceptions import HTTPError  # pylint: disable=import-outside-toplevel

    return (RequestException, HTTPError, http.client.HTTPException, OSError)


def _watch(sock: socket.socket) -> None:
    plan = _EXCHANGE.get()
    if plan is not None:
        plan.register(sock)


def _shut(sock: socket.socket) -> None:
    """Ends whatever read, write or handshake is blocked on the connection; its reader then sees it closed."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _urllib3_error(exc: BaseException) -> BaseException:
    """The urllib3 error under a requests one: what Retry reads to tell a connect, a read and any other error apart."""
    from urllib3.exceptions import MaxRetryError  # pylint: disable=import-outside-toplevel

    error = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    return error.reason if isinstance(error, MaxRetryError) and error.reason is not None else error


class _Retry(Retry):  # type: ignore[misc,valid-type]
    """urllib3's Retry, told by a _Plan how long to wait and when to stop; Transport._last_attempt consults it after each attempt."""

    RETRY_AFTER_STATUS_CODES = RETRY_STATUSES

    def __init__(self, *args: Any, plan: Optional[_Plan] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.wait = 0.0

    def new(self, **kw: Any) -> "_Retry":
        retry = super().new(**kw)
        retry.plan = self.plan
        return retry

    def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None, _pool: Any = None, _stacktrace: Any = None) -> "_Retry":
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        retry.wait = self.plan.admit(retry, response, error)
        return retry

    def sleep(self, response: Any = None) -> None:
        time.sleep(self.wait)


def _retry(retries: int, plan: _Plan) -> _Retry:
    """Connection errors, timeouts and RETRY_STATUSES only, POST included (a client credentials request can be
    repeated, its credentials built anew); never TLS failures, nor redirects (they are reported, not followed)."""
    return _Retry(
        total=retries, connect=retries, read=retries, status=retries, other=0, redirect=False, backoff_factor=BACKOFF_FACTOR,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset(("GET", "POST")), raise_on_status=False, raise_on_redirect=False,
        plan=plan,
    )


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


def _client_key_problem(causes: List[Any]) -> Optional[str]:
    """What ssl's load_cert_chain said of client_cert and its key, if that is what failed; the provider's certificate
    fails verification differently."""
    for cause in causes:
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, ssl.SSLCertVerificationError):
            if cause.reason == "KEY_VALUES_MISMATCH":
                return "the key does not belong to the certificate"
            if "PEM lib" in str(cause) or cause.library == "PEM":
                return "the certificate or the key is not PEM"
    return None


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
