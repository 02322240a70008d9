# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token cache: one token request per credential set per token lifetime, across processes and runs.

Ansible runs every (host, task) in a fresh fork, so only the file system is shared. Entries are files
named by an HMAC and encrypted with AES-GCM, both keyed from the client secret: without the secret a
cache file says nothing and cannot be forged. A file lock per entry makes concurrent misses send one
request. Any problem with the cache (corrupt entry, wrong owner or mode, unwritable directory) costs one
warning and a normal token request, never a failure.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import stat
import struct
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

DEFAULT_CACHE_DIR = "~/.ansible/oauth2_client_credentials/cache"
MAX_REFRESH_MARGIN = 60
REFRESH_FRACTION = 0.1
LOCK_POLL_SECONDS = 0.02
# File layout: magic, expiry (clear, so expired entries of any credential can be removed), nonce, ciphertext.
MAGIC = b"OC2T1"
HEADER = struct.Struct(">5sq12s")
DISCOVERY_LIFETIME = 3600


def refresh_margin(expires_in: Optional[int], configured: Optional[float]) -> float:
    """How long before expiry a token stops being handed out: min(60 s, 10 % of its lifetime) unless configured."""
    if configured is not None:
        return configured
    return min(MAX_REFRESH_MARGIN, REFRESH_FRACTION * (expires_in or 0))


class CacheKeys:
    """The names and the encryption key of one credential set's entries, all derived from its secret."""

    def __init__(self, secret: str, identity: Sequence[Any]) -> None:
        from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # pylint: disable=import-outside-toplevel

        material = HKDF(algorithm=hashes.SHA256(), length=64, salt=b"oauth2.client_credentials token cache v1",
                        info=b"name+encryption").derive(secret.encode("utf-8"))
        self._name_key, self.encryption_key = material[:32], material[32:]
        self.identity = json.dumps(list(identity), separators=(",", ":"), sort_keys=True).encode("utf-8")

    def name(self, purpose: str) -> str:
        """The file name of an entry: a keyed hash of everything that changes what is cached."""
        return hmac.new(self._name_key, purpose.encode("utf-8") + b"\0" + self.identity, hashlib.sha256).hexdigest()


class TokenCache:
    """A directory of encrypted entries shared by every process of the user."""

    def __init__(self, directory: Optional[str] = None, clock: Callable[[], float] = time.time, lock_timeout: float = 30.0) -> None:
        self.directory = os.path.expanduser(directory or DEFAULT_CACHE_DIR)
        self.warnings: List[str] = []
        self._clock = clock
        self._lock_timeout = lock_timeout
        self._usable: Optional[bool] = None

    def get_or_fetch(self, keys: CacheKeys, purpose: str, fetch: Callable[[], Dict[str, Any]], margin: Optional[float]) -> Dict[str, Any]:
        """A cached value with more than its refresh margin left, or fetch() once for all waiting processes."""
        if not self._ready():
            return fetch()
        path = os.path.join(self.directory, keys.name(purpose))
        cached = self._read(path, keys, margin)
        if cached is not None:
            return cached
        with _FileLock(path + ".lock", self._lock_timeout, self._warn):
            cached = self._read(path, keys, margin)
            if cached is not None:
                return cached
            value = fetch()
            if isinstance(value.get("expires_at"), int):
                self._write(path, keys, value)
            return value

    # -- directory and files -------------------------------------------------

    def _ready(self) -> bool:
        if self._usable is None:
            self._usable = self._check_directory()
        return self._usable

    def _check_directory(self) -> bool:
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            info = os.stat(self.directory)
        except OSError as exc:
            return self._warn("the token cache directory %s cannot be created (%s)" % (self.directory, exc.strerror))
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return self._warn("the token cache directory %s must be owned by this user with mode 0700" % self.directory)
        if not os.access(self.directory, os.W_OK | os.X_OK):
            return self._warn("the token cache directory %s is not writable" % self.directory)
        return True

    def _read(self, path: str, keys: CacheKeys, margin: Optional[float]) -> Optional[Dict[str, Any]]:
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
                    self._warn("the token cache entry %s is not owned by this user with mode 0600" % path)
                    return None
                blob = handle.read()
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self._warn("the token cache entry %s cannot be read (%s)" % (path, exc.strerror))
            return None
        value = _decrypt(blob, keys)
        if value is None:
            self._warn("the token cache entry %s is corrupt or from another secret" % path)
            return None
        expires_at = value.get("expires_at")
        if not isinstance(expires_at, int) or expires_at - self._clock() <= refresh_margin(value.get("expires_in"), margin):
            return None
        return value

    def _write(self, path: str, keys: CacheKeys, value: Dict[str, Any]) -> None:
        temporary = "%s.%d.tmp" % (path, os.getpid())
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(_encrypt(value, keys))
            os.replace(temporary, path)
        except OSError as exc:
            self._warn("the token cache entry %s cannot be written (%s)" % (path, exc.strerror))
            _remove(temporary)
            return
        self._remove_expired()

    def _remove_expired(self) -> None:
        """Expired entries of any credential set, told by the clear expiry in their header."""
        now = self._clock()
        for name in os.listdir(self.directory):
            if "." in name:  # lock and temporary files
                continue
            path = os.path.join(self.directory, name)
            try:
                with open(path, "rb") as handle:
                    expires_at = HEADER.unpack(handle.read(HEADER.size))[1]
            except (OSError, struct.error):
                continue
            if expires_at < now:
                # Its lock file stays: another process may hold it while renewing this very entry.
                _remove(path)

    def _warn(self, problem: str) -> bool:
        if not self.warnings:
            self.warnings.append("Token cache not used: %s; the token is requested from the provider instead." % problem)
        return False


def _encrypt(value: Dict[str, Any], keys: CacheKeys) -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # pylint: disable=import-outside-toplevel

    nonce = os.urandom(12)
    header = HEADER.pack(MAGIC, value["expires_at"], nonce)
    return header + AESGCM(keys.encryption_key).encrypt(nonce, json.dumps(value).encode("utf-8"), header + keys.identity)


def _decrypt(blob: bytes, keys: CacheKeys) -> Optional[Dict[str, Any]]:
    from cryptography.exceptions import InvalidTag  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # pylint: disable=import-outside-toplevel

    try:
        magic, expires_at, nonce = HEADER.unpack(blob[:HEADER.size])
        if magic != MAGIC:
            return None
        value = json.loads(AESGCM(keys.encryption_key).decrypt(nonce, blob[HEADER.size:], blob[:HEADER.size] + keys.identity))
    except (struct.error, InvalidTag, ValueError):
        return None
    return value if isinstance(value, dict) and value.get("expires_at") == expires_at else None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _FileLock:
    """An exclusive flock with a bounded wait; past the bound the caller goes ahead unlocked (and says so)."""

    def __init__(self, path: str, timeout: float, warn: Callable[[str], bool]) -> None:
        self._path, self._timeout, self._warn = path, timeout, warn
        self._descriptor: Optional[int] = None

    def __enter__(self) -> "_FileLock":
        import fcntl  # pylint: disable=import-outside-toplevel

        try:
            descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            self._warn("the token cache lock %s cannot be opened (%s)" % (self._path, exc.strerror))
            return self
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._descriptor = descriptor
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    os.close(descriptor)
                    self._warn("the token cache lock %s was not granted within %g seconds" % (self._path, self._timeout))
                    return self
            time.sleep(LOCK_POLL_SECONDS)

    def __exit__(self, *exc_info: Any) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
