# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading the token cache: all that a lookup answered from the cache runs, and nothing more.

Ansible compiles collection code from source in every forked worker, so what a cache hit imports costs every task of
every host. A lookup gathers what its options are resolved from (plugin_utils/option_inputs.py) and asks its memo: left
when options from exactly these inputs were last resolved, checked (ClientOptions) and answered, the memo names the
token's entry and says what the checks found, so a hit neither resolves nor checks them again, nor loads the code that
would. Anything else, a first use of these inputs included, takes the full path (token_client), which checks them, uses
or renews the entry, and leaves the memo again.

Writing, locking and cleaning up are token_cache's. A memo is one of its entries, named and encrypted with keys derived
from every input (the credentials included), the files the options name, and the per-user key: inputs that differ in
anything, or a file that changed, find no memo and are checked in full.
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
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_in_output

# Under ANSIBLE_HOME, as Ansible keeps its own state; on the controller the front ends also honour ansible.cfg's home.
CACHE_SUBDIRECTORY = os.path.join("oauth2_client_credentials", "cache")
MAX_REFRESH_MARGIN = 60
REFRESH_FRACTION = 0.1
# File layout: magic, expiry (clear, so expired entries of any credential can be removed), nonce, ciphertext, tag.
MAGIC = b"OC2T1"
HEADER = struct.Struct(">5sq12s")
TAG_BYTES = 32
KEY_BYTES = 32
KEY_SUFFIX = ".key"
# HKDF's info for the file cache's keys, and for the memos' (whose label changes whenever the checks they stand for do);
# another backend derives its own under another label. v3: sealed with HMAC-SHA256 alone (token_cache.seal), v2 with AES-GCM.
FILE_KEYS_INFO = b"oauth2.client_credentials token cache v3 name+encryption"
MEMO_KEYS_INFO = b"oauth2.client_credentials checked options v1 name+encryption"
MEMO_PURPOSE = "checked options"
# Options naming files whose content decides the token or its checks; the canonical entry holds their digests too.
FILE_OPTIONS = ("client_cert", "client_key", "client_assertion_file")
# The note the user's processes leave one another when the shared cache's server fails (redis_cache), how long it makes
# them skip the server and use their file cache instead, and what they say then.
DOWN_SUFFIX = ".redis-down"
DOWN_SECONDS = 10.0
NOTE_BYTES = 2048
SHARED_CACHE_DOWN = "Shared token cache not used: %s; the local token cache is used instead."
# More items than all options of a lookup hold together (scope, resource and extra_params are the lists and the mapping).
MAX_ITEMS = 1000


def default_cache_dir(ansible_home: Optional[str]) -> str:
    """<ANSIBLE_HOME>/oauth2_client_credentials/cache, ~/.ansible being Ansible's own default home."""
    return os.path.join(os.path.expanduser(ansible_home or "~/.ansible"), CACHE_SUBDIRECTORY)


def cache_directory(configured: Optional[str]) -> str:
    """The directory of the file cache: cache_dir, else the default under the environment's ANSIBLE_HOME."""
    return os.path.expanduser(configured or default_cache_dir(os.environ.get("ANSIBLE_HOME")))


def refresh_margin(expires_in: Optional[int], configured: Optional[float]) -> float:
    """How long before expiry a token stops being handed out: min(60 s, 10 % of its lifetime) unless configured."""
    if configured is not None:
        return configured
    return min(MAX_REFRESH_MARGIN, REFRESH_FRACTION * (expires_in or 0))


def hkdf_sha256(secret: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF with HMAC-SHA256 (RFC 5869), from the standard library: every forked worker derives its keys once, and
    cryptography's HKDF costs that worker a first-use setup several times the derivation itself."""
    pseudorandom_key = _hmac_sha256(salt, secret)
    output, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = _hmac_sha256(pseudorandom_key, block + info + bytes((counter,)))
        output += block
    return output[:length]


class CacheKeys:
    """The names and the encryption key of one credential set's entries, derived from its secret and the user key."""

    def __init__(self, secret: Union[str, bytes], identity: Sequence[Any], user_key: bytes, info: bytes = FILE_KEYS_INFO) -> None:
        # The user key as HKDF salt: without the key file, a copied cache cannot be used to test guesses of the secret.
        material = hkdf_sha256(secret if isinstance(secret, bytes) else secret.encode("utf-8"), user_key, info, 96)
        # The encryption key's halves: one for the keystream, one for the tag.
        self._name_key, self.encryption_key = material[:32], material[32:]
        self.identity = json.dumps(list(identity), separators=(",", ":"), sort_keys=True).encode("utf-8")

    def name(self, purpose: str) -> str:
        """The file name of an entry: a keyed hash of everything that changes what is cached."""
        return _hmac_sha256(self._name_key, purpose.encode("utf-8") + b"\0" + self.identity).hex()


def unseal(blob: bytes, encryption_key: bytes, identity: bytes) -> Optional[Dict[str, Any]]:
    """The value of an entry sealed with this key and identity; None for anything else, a corrupt entry included."""
    header, ciphertext, tag = blob[:HEADER.size], blob[HEADER.size:-TAG_BYTES], blob[-TAG_BYTES:]
    if len(blob) < HEADER.size + TAG_BYTES or not hmac.compare_digest(tag, entry_tag(encryption_key, header, identity, ciphertext)):
        return None
    magic, expires_at, nonce = HEADER.unpack(header)
    try:
        value = json.loads(crypt(encryption_key, nonce, ciphertext)) if magic == MAGIC else None
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("expires_at") == expires_at else None


def crypt(encryption_key: bytes, nonce: bytes, data: bytes) -> bytes:
    """data XOR the keystream of the key's first half and the nonce: HMAC-SHA256 of nonce and block counter (the PRF in
    counter mode of NIST SP 800-108), which encrypts and decrypts alike."""
    blocks = (_hmac_sha256(encryption_key[:32], nonce + counter.to_bytes(4, "big")) for counter in range(-(-len(data) // 32)))
    stream = b"".join(blocks)[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def entry_tag(encryption_key: bytes, header: bytes, identity: bytes, ciphertext: bytes) -> bytes:
    """HMAC-SHA256 with the key's second half over the header, the identity (after its length) and the ciphertext."""
    return _hmac_sha256(encryption_key[32:], header + len(identity).to_bytes(8, "big") + identity + ciphertext)


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    """The one MAC of the cache. hmac.new, not hmac.digest: each sets OpenSSL up on its first use in a process, a forked
    worker's included, and one setup is enough."""
    return hmac.new(key, message, hashlib.sha256).digest()


def fresh(value: Mapping[str, Any], margin: Optional[float], now: float) -> bool:
    """Whether a cached value has more than its refresh margin left."""
    expires_at = value.get("expires_at")
    return isinstance(expires_at, int) and expires_at - now > refresh_margin(value.get("expires_in"), margin)


def open_own(path: str, flags: int) -> int:
    """The one way the cache opens a file: never through a symbolic link, never waiting on a FIFO, and only a
    regular file of this user that nobody else may read or write."""
    descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    info = os.fstat(descriptor)
    if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and not stat.S_IMODE(info.st_mode) & 0o077:
        return descriptor
    os.close(descriptor)
    raise OSError(errno.EPERM, "not a regular file of this user with mode 0600")


def read_own(path: str, size: int = -1) -> bytes:
    with os.fdopen(open_own(path, os.O_RDONLY), "rb") as handle:
        return handle.read(size)


def read_key(path: str) -> bytes:
    key = read_own(path, KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise OSError(errno.EINVAL, "not a key of %d bytes" % KEY_BYTES)
    return key


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes; a file that cannot be read is its error, which the request then reports."""
    try:
        with open(path, "rb") as handle:
            return sha256(handle.read())
    except OSError as exc:
        return "unreadable: %s" % exc.strerror


def sha256(content: Union[str, bytes, None]) -> str:
    """A digest, so that no key material sits in an entry's identity in clear."""
    return hashlib.sha256(content if isinstance(content, bytes) else (content or "").encode("utf-8")).hexdigest()


def trusted_ca_path(ca_path: Optional[str]) -> Optional[str]:
    """The CAs a verifying request trusts, as requests picks them: ca_path, else REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE;
    None for its default bundle."""
    return ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


def shared_cache_down(directory: str, url: str) -> Optional[Tuple[float, str]]:
    """How many seconds ago a process of the user gave up on the shared cache at url, and why, if one did."""
    try:
        note = read_own(directory + DOWN_SUFFIX, NOTE_BYTES).decode("utf-8", "replace")
        stamp, noted_url, reason = (note.split("\n", 2) + ["", ""])[:3]
        return (time.time() - float(stamp), reason.strip() or "the Redis server at %s failed" % url) if noted_url == url else None
    except (OSError, ValueError):
        return None


def handed_out(cached: Mapping[str, Any], dpop: bool) -> Tuple[Dict[str, Any], Optional[str], Optional[str]]:
    """A token result as front ends hand it out, masked wherever ansible-core displays it (variables keep it whole); apart,
    the DPoP key generated for it, which travels with it in the cache and never further than the client, and a warning
    when dpop was asked for and the provider issued a token bound to nothing."""
    result = dict(cached)
    generated_key = result.pop("dpop_key", None)
    mask_in_output((result["access_token"], result["authorization"], generated_key))
    unbound = None
    if dpop and result["token_type"] != "DPoP":
        unbound = ("dpop is true, but the provider issued a %s token, which is not bound to the DPoP key: whoever copies it can use "
                   "it. Turn DPoP on for this client at the provider." % result["token_type"])
    return result, generated_key, unbound


class OptionsMemo:
    """The memo of one call's options: where it is, and the key material it is named and encrypted with, from keyed_by
    (the option values, or all they are resolved from) and the files that values name; material is None where the call
    can have none (no cache, or a value no check accepts, which the full path then reports). The memo is in the user's
    file cache; with a shared cache (cache_url) it is used only while that is known to be down."""

    def __init__(self, keyed_by: Any, values: Mapping[str, Any]) -> None:
        self.directory: Optional[str] = None
        self.material: Optional[bytes] = None
        self.shared: Optional[str] = None
        try:
            if values.get("cache") is not False and (values.get("cache_backend") or "file") in ("file", "redis"):
                self.shared = values.get("cache_url") or "" if values.get("cache_backend") == "redis" else None
                self.directory = cache_directory(_path(values.get("cache_dir")))
                # The CA bundle by its size, time and inode, as it may be large and is no secret; the other files by content.
                ca_path = trusted_ca_path(_path(values.get("ca_path")))
                ca_file = ca_path and os.stat(ca_path)
                files = [ca_path, ca_file and (ca_file.st_size, ca_file.st_mtime_ns, ca_file.st_ino)] + [
                    file_digest(path) if path else None for path in (_path(values.get(name)) for name in FILE_OPTIONS)]
                self.material = json.dumps([_plain(keyed_by, [MAX_ITEMS]), files], sort_keys=True, separators=(",", ":")).encode("utf-8")
        except (AttributeError, OSError, TypeError, ValueError):
            # A value of a type no check accepts, or a CA that is not there: the full path says what is wrong.
            self.material = None

    def keys(self, user_key: bytes) -> Optional[CacheKeys]:
        return CacheKeys(self.material, (), user_key, MEMO_KEYS_INFO) if self.material is not None else None

    def cached_token(self, clock: Callable[[], float] = time.time) -> Optional[Tuple[Dict[str, Any], List[str], Callable[[], str]]]:
        """The token these options were last answered with, handed out as get_token hands it out, with the warnings their
        checks gave and what makes the -vvv line on where it came from (only then is its code loaded); None unless the
        token has more than its refresh margin left, and on anything else, which the full path then handles."""
        try:
            info = os.lstat(self.directory or "")
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
                return None
            down = self.shared and shared_cache_down(self.directory or "", self.shared)
            if self.shared is not None and not (down and 0 <= down[0] < DOWN_SECONDS):
                return None
            keys = self.keys(read_key(self.directory + KEY_SUFFIX))
            now = clock()
            memo = self._entry(keys.name(MEMO_PURPOSE), keys.encryption_key, keys.identity, None, now)
            cached = memo and self._entry(memo["entry"], bytes.fromhex(memo["key"]), memo["identity"].encode("utf-8"), memo["margin"], now)
            if not cached:
                return None
            result, _generated_key, unbound = handed_out(cached, memo["dpop"])
        except (OSError, AttributeError, KeyError, TypeError, ValueError):  # a missing entry, or one not of this version
            return None

        def provenance() -> str:
            from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import token_provenance  # pylint: disable=import-outside-toplevel

            return token_provenance(memo["client_id"], memo["endpoint"], result["expires_at"], now, True)

        warnings = memo["warnings"] + ([SHARED_CACHE_DOWN % down[1]] if down else [])
        return result, warnings + [unbound] if unbound else warnings, provenance

    def _entry(self, name: str, encryption_key: bytes, identity: bytes, margin: Optional[float], now: float) -> Optional[Dict[str, Any]]:
        value = unseal(read_own(os.path.join(self.directory or "", name)), encryption_key, identity)
        return value if value is not None and fresh(value, margin, now) else None


def _path(value: Any) -> Optional[str]:
    """A path option as the checks read it: stripped, with ~ expanded; None when not set."""
    return os.path.expanduser(value.strip()) if value is not None and value.strip() else None


def _plain(value: Any, budget: List[int]) -> Any:
    """value as plain JSON, read as the checks read it (a lazily templated container yields its templated items). TypeError
    for what JSON would blur with another value (a mapping with keys that are not strings, a type of its own), and for
    more than budget[0] items in all: values are not checked yet, and a YAML alias bomb would expand without end."""
    budget[0] -= 1
    if budget[0] < 0:
        raise TypeError("more items than any option holds")
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("not a JSON object")
        return {str(key): _plain(item, budget) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, budget) for item in value]
    raise TypeError(type(value).__name__)
