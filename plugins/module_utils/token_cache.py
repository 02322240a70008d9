# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache: one token request per credential set per token lifetime, across processes and runs.

Ansible runs every (host, task) in a fresh fork, so only the file system is shared. Entries are files
named by an HMAC and sealed with HMAC-SHA256 (cache_read), both keyed from the client secret and a random per-user key
kept beside the cache directory (<cache_dir>.key). A file lock per entry makes concurrent misses send one
request. Any problem with the cache (corrupt entry, wrong owner or mode, unsafe or unwritable directory)
costs one warning and a normal token request, never a failure.

EntryCache holds what any backend must do the same way (the entries' encryption and names, margins, single flight);
what a cache hit needs of it (opening entries, the lookup's memo) is cache_read's. TokenCache keeps them as files,
redis_cache.RedisTokenCache on a Redis server shared by many controllers, which open_cache loads only when cache_backend
says so.

What the files give away:
- the cache directory alone: expiry times and how many entries there are; no token, and no way to test
  guesses of the client secret, because every name and key also depends on the key file;
- the key file alone: nothing; it is random and says nothing about any secret or token;
- both: a guess of the client secret can be tested offline (HKDF is cheap, so a weak secret falls), and
  a right guess decrypts that client's cached tokens until they expire;
- neither lets anyone forge an entry for a secret they do not know.

The cache touches only its own files: cache_dir must be a real directory of the user, mode 0700, whose
parents only root and the user can change; every file is opened without following links or waiting on
FIFOs and used only if it is a regular file of the user with mode 0600 (cache_read.open_own); the clean-up removes
only such files named and built as entries, and lock files only while holding them.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import (
    HEADER,
    KEY_BYTES,
    KEY_SUFFIX,
    MAGIC,
    MEMO_PURPOSE,
    NOTE_BYTES,
    CacheKeys,
    OptionsMemo,
    cache_directory,
    crypt,
    entry_tag,
    fresh,
    open_own,
    read_key,
    read_own,
    unseal,
)

LOCK_POLL_SECONDS = 0.02
DISCOVERY_LIFETIME = 3600
LOCK_SUFFIX = ".lock"
ENTRY_NAME = re.compile(r"[0-9a-f]{64}\Z")


def open_cache(
    directory: Optional[str], clock: Callable[[], float] = time.time, backend: str = "file", url: Optional[str] = None,
    password: Optional[str] = None, cache_key: Optional[str] = None,
) -> "EntryCache":
    """The backend the options choose, once: the user's files, or a Redis server shared by many controllers, which falls
    back on the files. The Redis backend's code is loaded only for those who chose it."""
    local = TokenCache(directory, clock)
    if backend != "redis" or not url:
        return local
    from ansible_collections.oauth2.client_credentials.plugins.module_utils.redis_cache import (  # pylint: disable=import-outside-toplevel
        RedisTokenCache,
    )

    return RedisTokenCache(url, password, cache_key, local, clock)


class EntryCache:
    """What every backend of the token cache shares: entries encrypted and named with CacheKeys, handed out while more
    than their margin is left, and one fetch for all the processes that miss at once.

    A backend keeps the encrypted blobs by name: read, write, and lock (a context manager with problem, why it is not
    held, and found, a usable value that ready() returned while waiting, for backends that can see one appear).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._problems: List[str] = []

    @property
    def warnings(self) -> List[str]:
        """Problems that cost the cache's help for this token, for the front end to show."""
        return self._problems

    def keys(self, secret: str, identity: Sequence[Any]) -> Optional[CacheKeys]:
        raise NotImplementedError

    def read(self, name: str) -> Optional[bytes]:
        raise NotImplementedError

    def write(self, name: str, blob: bytes, expires_at: int) -> None:
        raise NotImplementedError

    def lock(self, name: str, deadline: float, ready: Callable[[], Optional[Dict[str, Any]]]) -> Any:
        raise NotImplementedError

    def where(self, name: str) -> str:
        """An entry as messages name it."""
        raise NotImplementedError

    def memo_store(self, keys: CacheKeys) -> Optional[Tuple["TokenCache", CacheKeys]]:
        """Where a memo may name this credential's token entry (cache_read.OptionsMemo): a file cache and its keys there, or
        None where the entry is elsewhere."""
        return None

    def get_or_fetch(
        self, keys: CacheKeys, purpose: str, fetch: Callable[[], Dict[str, Any]], margin: Optional[float], deadline: float,
        discard: Optional[Callable[[Dict[str, Any]], bool]] = None,
    ) -> Dict[str, Any]:
        """A cached value with more than its refresh margin left, or fetch() once for all waiting processes.

        The lock is waited for until deadline (a time.monotonic() value), the one the fetch itself must meet. A cached
        value that discard() rejects (a token the API refused) is replaced, unless another process replaced it first.
        """
        name = keys.name(purpose)

        def usable() -> Optional[Dict[str, Any]]:
            value = self._open(name, keys, margin)
            return None if value is None or (discard is not None and discard(value)) else value

        cached = usable()
        if cached is not None:
            return cached
        with self.lock(name, deadline, usable) as lock:
            if lock.found is not None:
                return lock.found
            if lock.problem:
                self._warn(lock.problem)
            cached = usable()
            if cached is not None:
                return cached
            value = fetch()
            if isinstance(value.get("expires_at"), int):
                self.write(name, seal(value, keys.encryption_key, keys.identity), value["expires_at"])
            return value

    def _open(self, name: str, keys: CacheKeys, margin: Optional[float]) -> Optional[Dict[str, Any]]:
        blob = self.read(name)
        if blob is None:
            return None
        value = unseal(blob, keys.encryption_key, keys.identity)
        if value is None:
            self._warn("the token cache entry %s is corrupt or from another secret" % self.where(name))
            return None
        return value if fresh(value, margin, self._clock()) else None

    def _warn(self, problem: str) -> bool:
        if not self._problems:
            self._problems.append("Token cache not used: %s; the token is requested from the provider instead." % problem)
        return False


class TokenCache(EntryCache):
    """A directory of encrypted entries shared by every process of the user."""

    def __init__(self, directory: Optional[str] = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.directory = cache_directory(directory)
        self._prepared = False
        self._user_key: Optional[bytes] = None

    def keys(self, secret: str, identity: Sequence[Any]) -> Optional[CacheKeys]:
        """The keys of one credential set, or None (after one warning) when the cache cannot be used safely."""
        return CacheKeys(secret, identity, self._user_key) if self.ready() else None

    def memo_store(self, keys: CacheKeys) -> Optional[Tuple["TokenCache", CacheKeys]]:
        return self, keys

    def ready(self) -> bool:
        """Whether the directory and the key file can be used safely; checked once, with one warning when not."""
        if not self._prepared:
            self._prepared = True
            if self._check_directory():
                self._user_key = self._read_user_key()
        return self._user_key is not None

    def leave_note(self, suffix: str, text: str) -> None:
        """Replaces the note whole, where the directory is safe; a note that cannot be written is only a lost hint."""
        if not self.ready():
            return
        try:
            _replace_own(self.directory + suffix, text.encode("utf-8")[:NOTE_BYTES])
        except OSError:
            pass

    def remove_note(self, suffix: str) -> None:
        if self.ready():
            _remove(self.directory + suffix)

    def remember(self, memo: OptionsMemo, entry: str, entry_keys: CacheKeys, expires_at: int, checked: Mapping[str, Any]) -> None:
        """Leaves the memo of options just checked and answered from entry, so that the next lookup with the very same inputs
        reads entry without resolving or checking them again (cache_read.OptionsMemo). It lives as long as the token it was
        left with: every set of inputs is checked again at least once per token."""
        keys = memo.keys(self._user_key) if self.ready() and self._user_key else None
        if keys is not None:
            value = dict(checked, entry=entry, key=entry_keys.encryption_key.hex(), identity=entry_keys.identity.decode("utf-8"),
                         expires_at=expires_at)
            self.write(keys.name(MEMO_PURPOSE), seal(value, keys.encryption_key, keys.identity), expires_at)

    def read(self, name: str) -> Optional[bytes]:
        path = self.where(name)
        try:
            return read_own(path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self._warn("the token cache entry %s cannot be read (%s)" % (path, exc.strerror))
            return None

    def write(self, name: str, blob: bytes, expires_at: int) -> None:
        path = self.where(name)
        try:
            _replace_own(path, blob)
        except OSError as exc:
            self._warn("the token cache entry %s cannot be written (%s)" % (path, exc.strerror))
            return
        self._remove_expired()

    def lock(self, name: str, deadline: float, ready: Callable[[], Optional[Dict[str, Any]]]) -> "_FileLock":
        """A file lock wakes its waiters when its holder is done, so they need not look for the entry meanwhile."""
        return _FileLock(self.where(name) + LOCK_SUFFIX, deadline)

    def where(self, name: str) -> str:
        return os.path.join(self.directory, name)

    # -- directory and files -------------------------------------------------

    def _check_directory(self) -> bool:
        """Another user who could swap cache_dir or a parent could point the clean-up at files that are not the cache's."""
        given = os.path.abspath(self.directory)
        try:
            os.makedirs(os.path.dirname(given), mode=0o700, exist_ok=True)
            parent = os.path.realpath(os.path.dirname(given))
            self.directory = os.path.join(parent, os.path.basename(given))
            shared = _changeable_by_others(parent)
            if shared:
                return self._warn("the token cache directory %s lies in %s, which other users can change: "
                                  "choose a cache_dir whose parents only root and this user can write" % (self.directory, shared))
            try:
                os.mkdir(self.directory, 0o700)
            except FileExistsError:
                pass
            info = os.lstat(self.directory)
        except OSError as exc:
            return self._warn("the token cache directory %s cannot be created (%s)" % (self.directory, exc.strerror))
        if stat.S_ISLNK(info.st_mode):
            return self._warn("the token cache directory %s is a symbolic link, which another user may have planted: "
                              "set cache_dir to a real directory" % self.directory)
        if not stat.S_ISDIR(info.st_mode):
            return self._warn("the token cache directory %s is not a directory" % self.directory)
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return self._warn("the token cache directory %s must be owned by this user with mode 0700" % self.directory)
        if not os.access(self.directory, os.W_OK | os.X_OK):
            return self._warn("the token cache directory %s is not writable" % self.directory)
        return True

    def _read_user_key(self) -> Optional[bytes]:
        path = self.directory + KEY_SUFFIX
        try:
            return _user_key(path)
        except OSError as exc:
            self._warn("the token cache key %s cannot be created or read (%s)" % (path, exc.strerror))
            return None

    def _remove_expired(self) -> None:
        """Expired entries of any credential set with their locks, and locks whose entry is gone."""
        try:
            names = set(os.listdir(self.directory))
        except OSError:
            return
        now = self._clock()
        for name in names:
            entry = name[:-len(LOCK_SUFFIX)] if name.endswith(LOCK_SUFFIX) else name
            if ENTRY_NAME.match(entry) and (entry == name or entry not in names):
                self._remove_if_expired(os.path.join(self.directory, entry), now)

    def _remove_if_expired(self, path: str, now: float) -> None:
        if not _expired(path, now):
            return
        # Only an unheld lock: its holder may be renewing this very entry. Takers that opened it before the
        # unlink notice that the path no longer names what they locked, and lock anew.
        with _FileLock(path + LOCK_SUFFIX, time.monotonic()) as lock:
            if lock.problem is None and _expired(path, now):
                _remove(path)
                _remove(path + LOCK_SUFFIX)


def _replace_own(path: str, data: bytes) -> None:
    """Writes a file of the user's own whole, so no reader ever sees half of it; the temporary file goes with a failure."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    try:
        with os.fdopen(open_own(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError:
        _remove(temporary)
        raise


def _expired(path: str, now: float) -> bool:
    """Whether path holds nothing, or an entry of this cache past its expiry: nothing else is the clean-up's to remove."""
    try:
        header = read_own(path, HEADER.size)
    except OSError as exc:
        return exc.errno == errno.ENOENT
    if len(header) < HEADER.size:
        return False
    magic, expires_at, _nonce = HEADER.unpack(header)
    return magic == MAGIC and expires_at < now


def _changeable_by_others(directory: str) -> Optional[str]:
    """The first of directory and its parents that a user other than root and this one could change, if any;
    a sticky directory of root or this user is fine (/tmp), as its entries can only be changed by their owners."""
    path = directory
    while True:
        info = os.lstat(path)
        if info.st_uid not in (0, os.getuid()) or (info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _user_key(path: str) -> bytes:
    """The random per-user key, created once. It is linked into place only when fully written, so the many
    forks of a first run never read half a key, and an existing key is never replaced."""
    try:
        return read_key(path)
    except FileNotFoundError:
        pass
    temporary = "%s.%d.tmp" % (path, os.getpid())
    try:
        with os.fdopen(open_own(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
        os.link(temporary, path)
    except FileExistsError:  # another process was first: use its key
        pass
    finally:
        _remove(temporary)
    return read_key(path)


def seal(value: Dict[str, Any], encryption_key: bytes, identity: bytes) -> bytes:
    """An entry's bytes: its header, the value encrypted, and a tag that binds both to the identity it is named by."""
    nonce = os.urandom(12)
    header = HEADER.pack(MAGIC, value["expires_at"], nonce)
    ciphertext = crypt(encryption_key, nonce, json.dumps(value).encode("utf-8"))
    return header + ciphertext + entry_tag(encryption_key, header, identity, ciphertext)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _FileLock:
    """An exclusive flock with a bounded wait; problem says why it is not held, and the caller goes ahead unlocked.

    A clean-up may unlink the lock file between a taker's open and flock, so a taker holds the lock only once
    the path still names the file it locked, and otherwise locks the file now there.
    """

    def __init__(self, path: str, deadline: float) -> None:
        self._path, self._deadline = path, deadline
        self._descriptor: Optional[int] = None
        self.problem: Optional[str] = None
        self.found: Optional[Dict[str, Any]] = None

    def __enter__(self) -> "_FileLock":
        late = "the token cache lock %s was not granted before this token's deadline" % self._path
        while True:
            try:
                descriptor = open_own(self._path, os.O_RDWR | os.O_CREAT)
            except OSError as exc:
                # The cache is still read and written; only the waiting for one another is lost.
                self.problem = "the token cache lock %s cannot be opened (%s), so processes that miss at the same time each request a token" % (
                    self._path, exc.strerror)
                return self
            if not _flock(descriptor, self._deadline):
                os.close(descriptor)
                self.problem = late
                return self
            if _names(self._path, descriptor):
                self._descriptor = descriptor
                return self
            os.close(descriptor)
            if time.monotonic() > self._deadline:
                self.problem = late
                return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)


def _flock(descriptor: int, deadline: float) -> bool:
    import fcntl  # pylint: disable=import-outside-toplevel

    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                return False
        time.sleep(LOCK_POLL_SECONDS)


def _names(path: str, descriptor: int) -> bool:
    """Whether path still names the open file: False once a clean-up has unlinked it."""
    try:
        named = os.lstat(path)
    except OSError:
        return False
    held = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)
