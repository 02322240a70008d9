# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache on a Redis (or Valkey) server: one token request per credential set per token lifetime for a fleet.

Loaded only when cache_backend is redis, and the redis package only when the server is first used. The entries are
the file cache's blobs (token_cache.EntryCache): sealed and named with HMAC-SHA256 (cache_read), keyed by HKDF
from the credential and, when given, the fleet's cache_key in place of the per-user key file, stored under
oauth2cc:<name> and expiring with their token (SET PX). When many processes of the fleet miss at once, one holds
redis-py's lock (SET NX PX, released by compare-and-delete) and requests the token while the others look for its
entry until their deadline.

Never worse than no shared cache: a server that cannot be used (unreachable, slower than SOCKET_TIMEOUT, full,
read-only, refusing the password) or a missing redis package costs one warning, and the user's file cache serves
instead. A note beside it (<cache_dir>.redis-down) makes the user's other processes skip the server for DOWN_SECONDS,
so a dead server costs a controller one short timeout every few seconds, not one per task.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import (
    DOWN_SECONDS,
    DOWN_SUFFIX,
    SHARED_CACHE_DOWN,
    CacheKeys,
    shared_cache_down,
)
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, shown
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_cache import EntryCache, TokenCache

KEY_PREFIX = "oauth2cc:"
LOCK_SUFFIX = ":lock"
# Apart from the file cache's label, so that the same credential never has the same names in both.
SHARED_KEYS_INFO = b"oauth2.client_credentials shared token cache v2 name+encryption"
DEFAULT_PORT = 6379
# Connecting and each answer: a healthy server on the network answers in milliseconds.
SOCKET_TIMEOUT = 1.0
# The lock's lease, renewed while its holder fetches: a holder that dies frees the lock within LOCK_LEASE seconds.
LOCK_LEASE = 5.0
LOCK_RENEW = 1.5
POLL_SECONDS = 0.05
MIN_CACHE_KEY = 16
SCHEMES = ("redis", "rediss", "unix")
DATABASE = re.compile(r"[0-9]{1,5}\Z")


class SharedCacheUnavailable(Exception):
    """The server, or the redis package, cannot be used; reason is the warning's one line, the same in every process."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _ForeignValue(Exception):
    """A key of ours holds a value of another type."""


def connection_settings(url: str) -> Dict[str, Any]:
    """The one rule for cache_url, and the redis.Redis arguments it gives. A password goes only in cache_password, never in
    the URL, which messages, -vvv and ansible.cfg show; query parameters, which redis-py would turn into settings such as
    its timeouts, are refused but for a unix socket's database."""
    if any(character <= " " or character == "\x7f" for character in url):
        raise OAuth2Error("cache_url must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OAuth2Error("cache_url is not a URL of a Redis server: give redis://host:port/db, rediss://host:port/db or "
                          "unix:///path/to/socket.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise OAuth2Error("cache_url must start with redis://, rediss:// (TLS) or unix://, not %s." % (
            shown(scheme + "://") if scheme else "without a scheme"))
    if parts.password is not None:
        raise OAuth2Error("cache_url holds a password: leave it out of the URL, and give it as cache_password (from Vault), "
                          "which is never shown.")
    query = parse_qsl(parts.query, keep_blank_values=True)
    allowed = ("db",) if scheme == "unix" else ()
    refused = sorted({name for name, _value in query if name not in allowed})
    if refused or parts.fragment:
        raise OAuth2Error("cache_url has %s, which the collection does not take: its connection settings are its own." % (
            "query parameters %s" % ", ".join(shown(name) for name in refused) if refused else "a fragment"))
    settings: Dict[str, Any] = {"username": unquote(parts.username) if parts.username else None}
    if scheme == "unix":
        path = unquote(parts.path)
        if parts.hostname or not path.startswith("/"):
            raise OAuth2Error("cache_url unix:// needs the socket's absolute path, as in unix:///run/redis/redis.sock?db=0.")
        settings.update(unix_socket_path=path, db=_database(dict(query).get("db", "0")))
    else:
        if not parts.hostname:
            raise OAuth2Error("cache_url needs the server's host, as in %s://redis.example.com:6379/0." % scheme)
        settings.update(host=parts.hostname, port=port or DEFAULT_PORT, db=_database(parts.path.strip("/") or "0"), ssl=scheme == "rediss")
    return settings


def _database(text: str) -> int:
    if not DATABASE.match(text):
        raise OAuth2Error("cache_url's database must be a number, as in redis://host:6379/0, not %s." % shown(text))
    return int(text)


def check_cache_key(cache_key: Optional[str]) -> None:
    """A short key would make guessing it cheaper than guessing a provider's secret."""
    if cache_key is not None and len(cache_key) < MIN_CACHE_KEY:
        raise OAuth2Error("cache_key is shorter than %d characters: give a random one, for example from openssl rand -base64 32, "
                          "kept in Ansible Vault." % MIN_CACHE_KEY)


class SharedKeys(CacheKeys):
    """The keys of one credential set on the server, and a way to its keys in the user's file cache, for the fallback."""

    def __init__(self, secret: str, identity: Sequence[Any], salt: bytes, local: Callable[[], Optional[CacheKeys]]) -> None:
        super().__init__(secret, identity, salt, SHARED_KEYS_INFO)
        self.local = local


class RedisTokenCache(EntryCache):
    """Entries on a Redis server shared by many controllers, with the user's file cache as the fallback."""

    def __init__(self, url: str, password: Optional[str], cache_key: Optional[str], local: TokenCache,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.url = url
        self._settings = connection_settings(url)
        self._password = password
        # Without cache_key the names and keys come from the credential alone (README: what the shared cache protects against).
        self._salt = (cache_key or "").encode("utf-8")
        self._local = local
        self._client: Any = None
        self._errors: Any = None
        self._down: Optional[str] = None
        self._probing = False
        self._served_locally = False

    @property
    def warnings(self) -> List[str]:
        return self._problems + self._local.warnings

    def keys(self, secret: str, identity: Sequence[Any]) -> SharedKeys:
        return SharedKeys(secret, identity, self._salt, lambda: self._local.keys(secret, identity))

    def get_or_fetch(
        self, keys: CacheKeys, purpose: str, fetch: Callable[[], Dict[str, Any]], margin: Optional[float], deadline: float,
        discard: Optional[Callable[[Dict[str, Any]], bool]] = None,
    ) -> Dict[str, Any]:
        """As the file cache does it, on the server; when the server fails, from the user's file cache, and a token fetched
        before it failed is kept there for the user's other processes."""
        reason = self._down or self._recently_down()
        if reason is None:
            fetched: List[Dict[str, Any]] = []

            def fetch_once() -> Dict[str, Any]:
                fetched.append(fetch())
                return fetched[0]

            try:
                value = super().get_or_fetch(keys, purpose, fetch_once, margin, deadline, discard)
            except SharedCacheUnavailable as exc:
                reason = self._went_down(exc.reason)
                if fetched:
                    return self._locally(keys, purpose, lambda: fetched[0], margin, deadline, None)
                return self._locally(keys, purpose, fetch, margin, deadline, discard)
            if self._probing:
                self._probing = False
                self._local.remove_note(DOWN_SUFFIX)
            return value
        self._say_down(reason)
        return self._locally(keys, purpose, fetch, margin, deadline, discard)

    def memo_store(self, keys: CacheKeys) -> Optional[Tuple[TokenCache, CacheKeys]]:
        """The user's file cache, while this process uses it for a server that is down: a memo is left there only then,
        and a lookup uses it only while the note says the server is down (cache_read.OptionsMemo)."""
        local_keys = keys.local() if self._served_locally and isinstance(keys, SharedKeys) else None
        return (self._local, local_keys) if local_keys is not None else None

    def _locally(self, keys: Any, purpose: str, fetch: Callable[[], Dict[str, Any]], margin: Optional[float], deadline: float,
                 discard: Optional[Callable[[Dict[str, Any]], bool]]) -> Dict[str, Any]:
        self._served_locally = True
        local_keys = keys.local()
        if local_keys is None:
            return fetch()
        return self._local.get_or_fetch(local_keys, purpose, fetch, margin, deadline, discard)

    # -- the server's failures, told to the user's other processes ------------------------------

    def _recently_down(self) -> Optional[str]:
        """Why another process of the user gave up on this server less than DOWN_SECONDS ago, if one did. A process that
        finds an older note tries the server again, and renews the note first, so the others keep waiting for its answer."""
        down = shared_cache_down(self._local.directory, self.url)
        if down is None:
            return None
        age, reason = down
        if 0 <= age < DOWN_SECONDS:
            return reason
        self._probing = True
        self._leave_note(reason)
        return None

    def _went_down(self, reason: str) -> str:
        self._down = reason
        self._say_down(reason)
        self._leave_note(reason)
        return reason

    def _leave_note(self, reason: str) -> None:
        self._local.leave_note(DOWN_SUFFIX, "%.3f\n%s\n%s\n" % (time.time(), self.url, reason))

    def _say_down(self, reason: str) -> None:
        # The same line in every process, so that Ansible shows it once however many forks skip the server.
        if not self._problems:
            self._problems.append(SHARED_CACHE_DOWN % reason)

    # -- the store ---------------------------------------------------------------------------------

    def read(self, name: str) -> Optional[bytes]:
        try:
            blob = self._command(self._redis().get, KEY_PREFIX + name)
        except _ForeignValue:
            self._warn("the token cache entry %s holds a value of another type" % self.where(name))
            return None
        return blob if isinstance(blob, bytes) else None

    def write(self, name: str, blob: bytes, expires_at: int) -> None:
        """Expires with the token, never later; SET replaces whatever was there, of any type."""
        milliseconds = int((expires_at - self._clock()) * 1000)
        if milliseconds > 0:
            self._command(self._redis().set, KEY_PREFIX + name, blob, px=milliseconds)

    def lock(self, name: str, deadline: float, ready: Callable[[], Optional[Dict[str, Any]]]) -> "_Lease":
        return _Lease(self, KEY_PREFIX + name + LOCK_SUFFIX, deadline, ready)

    def where(self, name: str) -> str:
        return "%s%s on the Redis server at %s" % (KEY_PREFIX, name, self.url)

    def _redis(self) -> Any:
        if self._client is None:
            try:
                import redis  # pylint: disable=import-outside-toplevel
                from redis.backoff import NoBackoff  # pylint: disable=import-outside-toplevel
                from redis.retry import Retry  # pylint: disable=import-outside-toplevel
            except ImportError:
                raise SharedCacheUnavailable("cache_backend redis needs the Python package redis where this runs (pip install redis)") from None
            self._errors = redis.exceptions
            # No retries: redis-py's default (3, with backoff of seconds) would multiply every timeout of a dead server.
            self._client = redis.Redis(password=self._password, socket_connect_timeout=SOCKET_TIMEOUT, socket_timeout=SOCKET_TIMEOUT,
                                       retry=Retry(NoBackoff(), 0), health_check_interval=0, **self._settings)
        return self._client

    def _command(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except (self._errors.RedisError, OSError) as exc:
            if isinstance(exc, self._errors.ResponseError) and str(exc).startswith("WRONGTYPE"):
                raise _ForeignValue() from None
            raise SharedCacheUnavailable(self._reason(exc)) from None

    def _reason(self, exc: Exception) -> str:
        """What failed, in words that are the same in every process: the library's messages vary, and may quote a command."""
        errors, server = self._errors, "the Redis server at %s" % self.url
        if isinstance(exc, errors.AuthenticationError):
            if not self._password:
                return "%s asks for a password: set cache_password" % server
            return "%s refused cache_password%s" % (server, " for the user in cache_url" if self._settings.get("username") else "")
        if isinstance(exc, errors.TimeoutError):
            return "%s did not answer within %g s" % (server, SOCKET_TIMEOUT)
        if isinstance(exc, (errors.ConnectionError, OSError)):
            return "%s cannot be reached" % server
        if isinstance(exc, errors.ReadOnlyError):
            return "%s is a read-only replica" % server
        if isinstance(exc, errors.OutOfMemoryError):
            return "%s is full (maxmemory)" % server
        if isinstance(exc, errors.NoPermissionError):
            return "%s refuses this user a command the cache needs (NOPERM): allow get, set, del, pttl, pexpire, evalsha " \
                   "and script|load on the keys %s*" % (server, KEY_PREFIX)
        return "%s answered with an error (%s)" % (server, type(exc).__name__)


class _Lease:
    """redis-py's lock (SET NX PX, released by compare-and-delete) on a lease of LOCK_LEASE seconds, which a thread renews
    while its holder fetches, until the holder's deadline. A holder that dies (a task timeout, a cancelled job) frees it
    within seconds, as a dead process frees a file lock; a lease as long as the whole time bound would stall the fleet.
    Waiters look for the holder's entry (ready) between their attempts, and return it as found."""

    def __init__(self, cache: RedisTokenCache, key: str, deadline: float, ready: Callable[[], Optional[Dict[str, Any]]]) -> None:
        self._cache, self._key, self._deadline, self._ready = cache, key, deadline, ready
        self._lock: Any = None
        self._stop = threading.Event()
        self._renewer: Optional[threading.Thread] = None
        self.problem: Optional[str] = None
        self.found: Optional[Dict[str, Any]] = None

    def __enter__(self) -> "_Lease":
        cache = self._cache
        client = cache._redis()  # pylint: disable=protected-access
        lock = client.lock(self._key, timeout=LOCK_LEASE, thread_local=False)
        # Random, where redis-py's own token (uuid1) would carry this host's hardware address to the server.
        token = os.urandom(16).hex()
        looked = False
        while True:
            if cache._command(lock.acquire, blocking=False, token=token):  # pylint: disable=protected-access
                self._lock = lock
                self._renewer = threading.Thread(target=self._renew, daemon=True)
                self._renewer.start()
                return self
            self.found = self._ready()
            if self.found is not None:
                return self
            if not looked:
                looked = True
                # Our locks always expire; a key here without an expiry is foreign, and is given one, like a dead holder's.
                if cache._command(client.pttl, self._key) == -1:  # pylint: disable=protected-access
                    cache._command(client.pexpire, self._key, int(LOCK_LEASE * 1000))  # pylint: disable=protected-access
            if time.monotonic() >= self._deadline:
                self.problem = "the token cache lock %s on the Redis server at %s was not granted before this token's deadline" % (
                    self._key, cache.url)
                return self
            time.sleep(POLL_SECONDS)

    def _renew(self) -> None:
        while not self._stop.wait(LOCK_RENEW) and time.monotonic() < self._deadline:
            try:
                self._lock.reacquire()
            except (self._cache._errors.RedisError, OSError):  # pylint: disable=protected-access
                return  # the lease runs out: at worst another process requests a token too

    def __exit__(self, *exc_info: Any) -> None:
        if self._lock is None:
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(2 * SOCKET_TIMEOUT)
        try:
            self._lock.release()
        except (self._cache._errors.RedisError, OSError):  # pylint: disable=protected-access
            pass  # expired, or the server is gone: the lease ends by itself
