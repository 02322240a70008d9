# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache: keys, margins, reuse and expiry, encryption at rest, permissions, single flight,
and every way a broken cache must fall back to a normal token request."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import resource
import signal
import stat
import struct
import threading
import time

import pytest

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_auth import client_auth_for
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils import cache_read, token_cache
from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import MAGIC, CacheKeys, refresh_margin
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_cache import TokenCache
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient

SECRET = "cache-Secret-Value-0123456789"
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "cache")


def options(provider, cache_dir, **overrides):
    settings = {"token_url": provider.base_url + "/token", "client_id": "app", "client_secret": SECRET, "cache_dir": cache_dir}
    settings.update(overrides)
    return ClientOptions.from_mapping(settings)


def client(provider, cache_dir, clock, **overrides):
    opts = options(provider, cache_dir, **overrides)
    return TokenClient(opts, cache=TokenCache(opts.cache_dir, clock), clock=clock)


def issue(provider, expires_in=600, delay=0.0, token="tok", together=0):
    body = {"access_token": token, "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    provider.answer("/token", json_body=body, delay=delay, together=together)


def token_requests(provider):
    return sum(1 for seen in provider.requests if seen.path == "/token")


def entries(cache_dir):
    return [name for name in os.listdir(cache_dir) if "." not in name]


# -- keys and margins ----------------------------------------------------------------------


def identity(user_key=b"k" * 32, **overrides):
    settings = {"token_url": "https://idp/token", "client_id": "app", "client_secret": SECRET}
    settings.update(overrides)
    opts = ClientOptions.from_mapping(settings)
    return CacheKeys(client_auth_for(opts).cache_secret(), opts.cache_identity(), user_key).name("token")


@pytest.mark.parametrize("change", [
    {"token_url": "https://other/token"}, {"client_id": "other"}, {"client_secret": "other-secret"},
    {"auth_method": "client_secret_post"}, {"scope": "read"}, {"resource": "https://api/"}, {"audience": "api"},
    {"extra_params": {"org": "1"}}, {"token_url": None, "issuer": "https://idp"},
])
def test_everything_that_changes_the_token_changes_the_key(change):
    assert identity(**change) != identity()


@pytest.mark.parametrize("change", [
    {"validate_certs": False}, {"client_assertion_algorithm": "HS384"}, {"client_assertion_audience": "https://idp"},
    {"private_key_id": "k2"}, {"validate_token": True, "issuer": "https://idp"},
])
def test_everything_that_decides_whether_a_fresh_request_succeeds_and_is_trusted_changes_the_key(change):
    assert identity(**change) != identity()


@pytest.mark.parametrize("change", [{"timeout": 3}, {"retries": 0}, {"max_retry_wait": 1}, {"refresh_margin": 5}, {"scope": ["read", "write"]}])
def test_timeouts_retries_and_scope_spelling_do_not(change):
    baseline = identity(scope="read write") if "scope" in change else identity()
    assert identity(**change) == baseline


def test_the_cas_trusted_change_the_key_by_content(tmp_path, monkeypatch):
    """A token obtained through one CA is not handed to a request that trusts another, nor one replaced under the same name."""
    ca, other, directory = tmp_path / "ca.pem", tmp_path / "other.pem", tmp_path / "cas"
    ca.write_text("-----BEGIN CERTIFICATE-----\nCA one")
    other.write_text("-----BEGIN CERTIFICATE-----\nCA two")
    directory.mkdir()
    names = {identity(), identity(ca_path=str(ca)), identity(ca_path=str(other)), identity(ca_path=str(directory))}
    ca.write_text("-----BEGIN CERTIFICATE-----\nCA one, replaced")
    (directory / "0a1b2c3d.0").write_text("CA three")
    names |= {identity(ca_path=str(ca)), identity(ca_path=str(directory))}
    assert len(names) == 6 and identity(ca_path=str(ca)) == identity(ca_path=str(ca))
    default = identity()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    assert identity() != default and identity() == identity(ca_path=str(other)), "requests trusts REQUESTS_CA_BUNDLE without a ca_path"
    assert identity(validate_certs=False, ca_path=str(ca)) == identity(validate_certs=False), "nothing is verified either way"


def test_the_client_certificate_and_its_key_change_the_key(tmp_path):
    cert, key = tmp_path / "client.pem", tmp_path / "client-key.pem"
    cert.write_text("certificate")
    key.write_text("key material")
    files = {"client_cert": str(cert), "client_key": str(key)}
    names = {identity(), identity(**files), identity(client_cert=str(cert), client_key_content="other key material")}
    cert.write_text("another certificate")
    names.add(identity(**files))
    key.write_text("other key material")
    names.add(identity(**files))
    assert len(names) == 5


def test_the_private_key_and_its_passphrase_change_the_key():
    """Both key the entry's derivation: whoever holds an encrypted key file without its passphrase learns nothing from the cache."""
    key = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nnot parsed here\n-----END ENCRYPTED PRIVATE KEY-----\n"
    names = {identity(private_key=key), identity(private_key=key, private_key_passphrase="right-passphrase"),
             identity(private_key=key, private_key_passphrase="wrong-passphrase"), identity(private_key=key.replace("here", "there"))}
    assert len(names) == 4


def rsa_key_pem(passphrase):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase.encode())).decode()


@pytest.mark.parametrize("change, message", [
    ({"private_key_passphrase": "wrong-passphrase"}, r"^private_key is not a PEM private key, or private_key_passphrase does not open it"),
    ({"client_assertion_algorithm": "ES256"}, r"^client_assertion_algorithm ES256 does not fit the RSA private_key: use RS256 or "),
])
def test_a_cached_token_never_skips_a_check_a_fresh_request_makes(provider, cache_dir, clock, change, message):
    issue(provider)
    settings = {"client_secret": None, "private_key": rsa_key_pem("right-passphrase"), "private_key_passphrase": "right-passphrase"}
    assert client(provider, cache_dir, clock, **settings).get_token()["access_token"] == "tok"
    assert client(provider, cache_dir, clock, **settings).get_token()["access_token"] == "tok"
    with pytest.raises(OAuth2Error, match=message):
        client(provider, cache_dir, clock, **dict(settings, **change)).get_token()
    assert token_requests(provider) == 1


def test_key_reveals_neither_client_nor_secret():
    name = identity()
    assert len(name) == 64 and "app" not in name and SECRET not in name


def test_names_depend_on_the_user_key():
    """Whoever copies the cache directory without the key file cannot test guesses of the secret against its names."""
    assert identity(user_key=b"a" * 32) != identity(user_key=b"b" * 32)


def identity_token(sub="repo:example/deploy:environment:production", exp_in=300, **claims):
    """A CI job's identity token as far as the cache sees it: its signature is the provider's to check, never the cache's."""
    import jwt

    now = int(time.time())
    payload = dict({"iss": "https://token.actions.githubusercontent.com", "sub": sub, "aud": "api://AzureADTokenExchange",
                    "jti": os.urandom(8).hex(), "iat": now, "exp": now + exp_in}, **claims)
    return jwt.encode(payload, "the CI's signing key, a stand-in of 32+ bytes", algorithm="HS256")


def test_client_assertion_entries_are_named_by_the_workload_and_the_user_key():
    """Each job's identity token is new (jti, exp); the entry of its workload is not: the next job finds the token.
    With no secret, only the per-user key keeps the name (and the encryption key) from whoever reads the directory."""
    def name(user_key=b"k" * 32, **claims):
        return identity(user_key, client_secret=None, client_assertion=identity_token(**claims))

    assert name() == name() == name(exp_in=600, run_id="42")
    assert len({name(), name(sub="repo:example/other:ref:refs/heads/main"), name(iss="https://gitlab.example.com"),
                name(aud="https://keycloak.example.com/realms/ops"), name(user_key=b"j" * 32), identity(client_secret=None,
                client_assertion=identity_token(), client_id="other")}) == 6


def rotated(path, **claims):
    """The runner (or the kubelet) writes a new identity token to the file: the next job's, or a renewal."""
    token = identity_token(**claims)
    path.write_text(token + "\n")
    return token


def test_the_next_assertion_of_the_same_workload_reuses_the_cached_token(provider, cache_dir, clock, tmp_path):
    """A play of many tasks, or the next run, with the runner's file replaced in between: one token request."""
    issue(provider)
    path = tmp_path / "id-token"
    sent = []
    for _run in range(3):
        sent.append(rotated(path))
        assert client(provider, cache_dir, clock, client_secret=None, client_assertion_file=str(path)).get_token()["access_token"] == "tok"
    assert token_requests(provider) == 1
    assert dict(provider.requests[0].form)["client_assertion"] == sent[0]
    rotated(path, sub="repo:example/other:ref:refs/heads/main")
    client(provider, cache_dir, clock, client_secret=None, client_assertion_file=str(path)).get_token()
    assert token_requests(provider) == 2, "another workload's assertion never gets the token"


def test_with_cache_false_each_request_sends_the_file_as_it_is_then(provider, cache_dir, clock, tmp_path):
    issue(provider)
    path = tmp_path / "id-token"
    sent = []
    for _run in range(2):
        sent.append(rotated(path))
        TokenClient(options(provider, cache_dir, client_secret=None, client_assertion_file=str(path), cache=False), clock=clock).get_token()
    assert [dict(seen.form)["client_assertion"] for seen in provider.requests] == sent and sent[0] != sent[1]


def test_an_expired_assertion_is_refused_only_when_a_token_must_be_requested(provider, cache_dir, clock, tmp_path):
    """The identity token lives minutes, the access token it obtained an hour: later tasks of the play use the cached one."""
    issue(provider)
    path = tmp_path / "id-token"
    path.write_text(identity_token())
    client(provider, cache_dir, clock, client_secret=None, client_assertion_file=str(path)).get_token()
    path.write_text(identity_token(exp_in=-60))
    assert client(provider, cache_dir, clock, client_secret=None, client_assertion_file=str(path)).get_token()["access_token"] == "tok"
    clock.now = START + 600
    with pytest.raises(OAuth2Error, match=r"holds an assertion that expired at .*; identity tokens of CI jobs live minutes"):
        client(provider, cache_dir, clock, client_secret=None, client_assertion_file=str(path)).get_token()
    assert token_requests(provider) == 1


# RFC 5869 appendix A, test cases 1 (with salt and info) and 3 (empty salt and info).
HKDF_VECTORS = [
    (bytes(range(13)), bytes(range(0xf0, 0xfa)), 42,
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
    (b"", b"", 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
]


@pytest.mark.parametrize("salt, info, length, expected", HKDF_VECTORS)
def test_key_derivation_matches_rfc_5869(salt, info, length, expected):
    assert cache_read.hkdf_sha256(b"\x0b" * 22, salt, info, length).hex() == expected


def test_key_derivation_matches_cryptography_for_cache_keys():
    """The standard-library HKDF derives what cryptography's does, for the lengths and labels the cache uses."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    for info in (cache_read.FILE_KEYS_INFO, cache_read.MEMO_KEYS_INFO):
        expected = HKDF(algorithm=hashes.SHA256(), length=96, salt=b"k" * 32, info=info).derive(SECRET.encode())
        assert cache_read.hkdf_sha256(SECRET.encode(), b"k" * 32, info, 96) == expected


@pytest.mark.parametrize("expires_in, configured, margin", [
    (600, None, 60), (100, None, 10), (5, None, 0.5), (3600, None, 60), (None, None, 0), (600, 5, 5), (5, 0, 0),
])
def test_refresh_margin(expires_in, configured, margin):
    assert refresh_margin(expires_in, configured) == pytest.approx(margin)


# -- reuse and expiry ----------------------------------------------------------------------


@pytest.mark.parametrize("expires_in, reused_at, renewed_at", [(600, 539, 541), (5, 4.4, 4.6)])
def test_reused_until_the_margin_then_renewed(provider, cache_dir, clock, expires_in, reused_at, renewed_at):
    """OneLogin's 600 s tokens live 9 minutes in the cache, 5 s test tokens 4.5 s."""
    issue(provider, expires_in=expires_in)
    first = client(provider, cache_dir, clock).get_token()
    clock.now = START + reused_at
    assert client(provider, cache_dir, clock).get_token() == first
    assert token_requests(provider) == 1
    clock.now = START + renewed_at
    client(provider, cache_dir, clock).get_token()
    assert token_requests(provider) == 2


def test_zero_margin_still_never_hands_out_an_expired_token(provider, cache_dir, clock):
    issue(provider, expires_in=10)
    client(provider, cache_dir, clock, refresh_margin=0).get_token()
    clock.now = START + 10
    client(provider, cache_dir, clock, refresh_margin=0).get_token()
    assert token_requests(provider) == 2


def test_token_without_lifetime_is_not_cached(provider, cache_dir, clock):
    issue(provider, expires_in=None)
    client(provider, cache_dir, clock).get_token()
    client(provider, cache_dir, clock).get_token()
    assert token_requests(provider) == 2 and entries(cache_dir) == []


def test_cache_false_requests_every_time_and_writes_nothing(provider, cache_dir, clock):
    issue(provider)
    for _attempt in range(2):
        TokenClient(options(provider, cache_dir, cache=False), clock=clock).get_token()
    assert token_requests(provider) == 2 and not os.path.exists(cache_dir)


def test_different_scopes_are_different_entries(provider, cache_dir, clock):
    issue(provider)
    client(provider, cache_dir, clock, scope="read").get_token()
    client(provider, cache_dir, clock, scope="write").get_token()
    client(provider, cache_dir, clock, scope="read").get_token()
    assert token_requests(provider) == 2 and len(entries(cache_dir)) == 2


def test_discovery_is_cached_too(provider, cache_dir, clock):
    provider.answer("/.well-known/openid-configuration", json_body={"issuer": provider.base_url, "token_endpoint": provider.base_url + "/token"})
    issue(provider, expires_in=60)
    for step in range(3):
        clock.now = START + 100 * step
        client(provider, cache_dir, clock, token_url=None, issuer=provider.base_url).get_token()
    assert token_requests(provider) == 3
    assert sum(1 for seen in provider.requests if seen.method == "GET") == 1


def test_expired_entries_are_removed_when_writing(provider, cache_dir, clock):
    issue(provider, expires_in=60)
    client(provider, cache_dir, clock, scope="old").get_token()
    clock.now = START + 61
    client(provider, cache_dir, clock, scope="new").get_token()
    assert len(entries(cache_dir)) == 1


# -- at rest ---------------------------------------------------------------------------------


def test_entries_are_encrypted_and_private(provider, cache_dir, clock):
    token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl"
    issue(provider, token=token)
    client(provider, cache_dir, clock).get_token()
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    for name in os.listdir(cache_dir):
        path = os.path.join(cache_dir, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        content = open(path, "rb").read()
        for clear in (token, "eyJzdWIiOiJhcHAifQ", SECRET, "app", "Bearer"):
            assert clear.encode() not in content


def test_an_entry_moved_under_another_credentials_name_is_rejected(provider, cache_dir, clock):
    issue(provider, token="first")
    client(provider, cache_dir, clock, scope="a").get_token()
    first_entry = entries(cache_dir)[0]
    issue(provider, token="second")
    client(provider, cache_dir, clock, scope="b").get_token()
    second_entry = [name for name in entries(cache_dir) if name != first_entry][0]
    os.replace(os.path.join(cache_dir, first_entry), os.path.join(cache_dir, second_entry))
    fresh = client(provider, cache_dir, clock, scope="b")
    assert fresh.get_token()["access_token"] == "second"
    assert token_requests(provider) == 3 and "corrupt or from another secret" in fresh.warnings[0]


# -- never worse -----------------------------------------------------------------------------


def spoil_entry(cache_dir, how):
    path = os.path.join(cache_dir, entries(cache_dir)[0])
    if how == "corrupt":
        with open(path, "r+b") as handle:
            handle.seek(40)
            handle.write(b"\0\0\0\0")
    elif how == "group-readable":
        os.chmod(path, 0o640)
    elif how == "foreign-owned":
        os.chown(path, 65534, 65534)
    elif how == "unreadable":
        os.unlink(path)
        os.mkdir(path)
    elif how == "symlink":
        os.replace(path, path + ".elsewhere")
        os.symlink(path + ".elsewhere", path)
    elif how == "fifo":
        os.unlink(path)
        os.mkfifo(path, 0o600)


@pytest.mark.parametrize("how, warning", [
    ("corrupt", "is corrupt or from another secret"),
    ("group-readable", "cannot be read (not a regular file of this user with mode 0600)"),
    ("foreign-owned", "cannot be read (not a regular file of this user with mode 0600)"),
    ("unreadable", "cannot be read (not a regular file of this user with mode 0600)"),
    ("symlink", "cannot be read (Too many levels of symbolic links)"),
    ("fifo", "cannot be read (not a regular file of this user with mode 0600)"),
])
def test_bad_entries_are_ignored_with_one_warning(provider, cache_dir, clock, how, warning):
    issue(provider)
    client(provider, cache_dir, clock).get_token()
    spoil_entry(cache_dir, how)
    second = client(provider, cache_dir, clock)
    assert second.get_token()["access_token"] == "tok"
    assert token_requests(provider) == 2
    assert len(second.warnings) == 1 and warning in second.warnings[0]
    assert second.warnings[0].startswith("Token cache not used: ") and SECRET not in second.warnings[0]


@pytest.mark.parametrize("prepare, warning", [
    (lambda path: (os.makedirs(path), os.chmod(path, 0o755)), "must be owned by this user with mode 0700"),
    (lambda path: (os.makedirs(path, mode=0o700), os.chown(path, 65534, 65534)), "must be owned by this user with mode 0700"),
    (lambda path: open(path, "w").close(), "is not a directory"),
])
def test_bad_directories_are_ignored_with_one_warning(provider, cache_dir, clock, prepare, warning):
    issue(provider)
    prepare(cache_dir)
    for _attempt in range(2):
        attempt = client(provider, cache_dir, clock)
        assert attempt.get_token()["access_token"] == "tok"
        assert len(attempt.warnings) == 1 and warning in attempt.warnings[0]
    assert token_requests(provider) == 2


def test_a_lock_held_too_long_does_not_block_the_play(provider, cache_dir, clock):
    """The lock wait shares the token's deadline: a waiter gives up with its holder, not a whole bound later.

    A wait with a deadline of its own would be followed by a request the provider answers at once: the error and the
    request count say that, whatever the load. The time says the wait did not outlast the bound: a bound of 2 s, done by
    3.5 s, where a second bound would end at 4 s (a margin of 1.5 s for a loaded machine; 0.7 s was close under make -j2).
    """
    issue(provider)
    waiting = client(provider, cache_dir, clock, timeout=0.5, retries=1, max_retry_wait=1.0)
    os.makedirs(cache_dir, mode=0o700)
    lock_path = os.path.join(cache_dir, waiting._keys().name("token") + ".lock")  # pylint: disable=protected-access
    started = time.monotonic()
    with os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(OAuth2Error, match=r"did not finish within 2 seconds, the bound for one token"):
            waiting.get_token()
    assert 2.0 <= time.monotonic() - started < 3.5
    assert "was not granted before this token's deadline" in waiting.warnings[0]
    assert token_requests(provider) == 0


def _with_file_size_limit(limit, base_url, cache_dir, results):
    """A token requested in a process that cannot write files beyond limit bytes: writes fail as on a full disk (the
    kernel says EFBIG where a full disk says ENOSPC; the cache sees an OSError either way). Run in a child process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    _one_process(base_url, cache_dir, results)


@pytest.mark.parametrize("limit, warning", [
    (0, "the token cache key %(cache_dir)s.key cannot be created or read (File too large)"),
    (64, "the token cache entry %(cache_dir)s/"),  # the 32-byte key fits, the entry does not
])
def test_a_full_disk_costs_one_warning_and_the_token_is_still_returned(provider, cache_dir, limit, warning):
    issue(provider, token="fresh")
    [(token, warnings)] = in_processes(1, _with_file_size_limit, limit, provider.base_url, cache_dir)
    assert token == "fresh" and len(warnings) == 1 and warning % {"cache_dir": cache_dir} in warnings[0]
    assert limit == 0 or "cannot be written (File too large)" in warnings[0]
    assert entries(cache_dir) == [] and not [name for name in os.listdir(cache_dir) if name.endswith(".tmp")], "nothing half-written is left"
    assert token_requests(provider) == 1


def test_an_uncreatable_cache_directory_costs_one_warning(provider, tmp_path, clock):
    (tmp_path / "a-file").write_text("not a directory")
    cache_dir = str(tmp_path / "a-file" / "oauth2" / "cache")
    issue(provider)
    for _attempt in range(2):
        attempt = client(provider, cache_dir, clock)
        assert attempt.get_token()["access_token"] == "tok"
        assert attempt.warnings == ["Token cache not used: the token cache directory %s cannot be created (Not a directory); the token "
                                    "is requested from the provider instead." % cache_dir]
    assert token_requests(provider) == 2


def test_a_lock_file_that_cannot_be_opened_lets_processes_that_miss_at_once_each_request(provider, cache_dir, clock):
    """Without the lock nothing makes the others wait: the provider holds its answer until all four requests are in, so
    the count is exact however the processes are scheduled (one at a time, it would see one request and give up
    waiting). Each says why in one warning; the token is cached all the same."""
    issue(provider, token="shared", together=4)
    first = client(provider, cache_dir, clock)
    os.makedirs(cache_dir, mode=0o700)
    lock_path = os.path.join(cache_dir, first._keys().name("token") + ".lock")  # pylint: disable=protected-access
    with open(lock_path, "w", encoding="utf-8"):
        os.chmod(lock_path, 0o644)  # not the cache's: it opens only files of mode 0600
    warning = ("Token cache not used: the token cache lock %s cannot be opened (not a regular file of this user with mode 0600), so "
               "processes that miss at the same time each request a token; the token is requested from the provider instead." % lock_path)
    assert in_processes(4, _one_process, provider.base_url, cache_dir) == [("shared", [warning])] * 4
    assert token_requests(provider) == 4 and len(entries(cache_dir)) == 1


# -- single flight -----------------------------------------------------------------------------


def _one_process(base_url, cache_dir, results):
    opts = ClientOptions.from_mapping({"token_url": base_url + "/token", "client_id": "app", "client_secret": SECRET, "cache_dir": cache_dir})
    token_client = TokenClient(opts)
    results.put((token_client.get_token()["access_token"], token_client.warnings))


def in_processes(count, target, *args):
    """What target(*args, results) put in results, in count forked processes started at once."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=target, args=args + (results,)) for _n in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    return [results.get(timeout=5) for _n in processes]


def test_many_processes_missing_at_once_send_one_request(provider, cache_dir):
    issue(provider, delay=0.3, token="shared")
    # No warnings either: the first run's forks all create the user key at once.
    assert in_processes(24, _one_process, provider.base_url, cache_dir) == [("shared", [])] * 24
    assert token_requests(provider) == 1


# -- only its own files ------------------------------------------------------------------------

OLD = struct.pack(">q", 1000)  # an expiry long past, where an entry's header keeps it


def finishes(action, seconds=10.0):
    """Runs action in a thread: a cache that blocks in open() on a FIFO must fail the test, not hang it."""
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def plant(directory, victim):
    """Files a user might keep in a directory given as cache_dir, and files no clean-up of this cache may touch."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    planted = {
        "notes": b"hello" + OLD + b"x" * 20,
        "README": b"hi\n",
        "photo.jpg": b"\xff\xd8" * 20,
        "a" * 64: b"XXXXX" + OLD + b"\0" * 12,      # an entry's name, not its magic
        "b" * 64: MAGIC + OLD + b"\0" * 12,         # an old entry, but readable by others
        "c" * 64: MAGIC + OLD + b"\0" * 12,         # an old entry, but another user's
        "f" * 64 + ".lock": b"",                    # another user's lock file
    }
    for name, content in planted.items():
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(content)
        os.chmod(os.path.join(directory, name), 0o600)
    os.chmod(os.path.join(directory, "b" * 64), 0o644)
    os.chown(os.path.join(directory, "c" * 64), 65534, 65534)
    os.chown(os.path.join(directory, "f" * 64 + ".lock"), 65534, 65534)
    with open(victim, "wb") as handle:
        handle.write(MAGIC + OLD + b"\0" * 12)
    os.chmod(victim, 0o600)
    os.symlink(victim, os.path.join(directory, "e" * 64))  # an old entry's bytes, behind a link
    os.mkdir(os.path.join(directory, "d" * 64))
    return sorted(os.listdir(directory))


def test_clean_up_removes_only_its_own_expired_entries(provider, cache_dir, clock, tmp_path):
    planted = plant(cache_dir, str(tmp_path / "victim"))
    issue(provider, expires_in=60)
    client(provider, cache_dir, clock, scope="old").get_token()
    clock.now = START + 61
    client(provider, cache_dir, clock, scope="new").get_token()  # writes, then cleans up
    ours = [name for name in os.listdir(cache_dir) if name not in planted]
    assert sorted(set(os.listdir(cache_dir)) - set(ours)) == planted
    assert len(ours) == 2 and sum(name.endswith(".lock") for name in ours) == 1  # the new entry and its lock
    assert open(str(tmp_path / "victim"), "rb").read().startswith(MAGIC)


def test_a_fifo_in_the_cache_directory_does_not_hang_the_clean_up(provider, cache_dir, clock):
    os.makedirs(cache_dir, mode=0o700)
    os.mkfifo(os.path.join(cache_dir, "pipe"), 0o600)
    os.mkfifo(os.path.join(cache_dir, "9" * 64), 0o600)
    issue(provider)
    assert finishes(lambda: client(provider, cache_dir, clock).get_token())
    assert token_requests(provider) == 1


def test_lock_files_go_with_their_entries(provider, cache_dir, clock):
    """Each credential set leaves a lock file; without clean-up they piled up (31 locks for 1 live entry)."""
    issue(provider, expires_in=60)
    for scope in range(30):
        client(provider, cache_dir, clock, scope="s%d" % scope).get_token()
    issue(provider, expires_in=None)
    client(provider, cache_dir, clock, scope="no-lifetime").get_token()  # a lock, never an entry
    clock.now = START + 61
    issue(provider, expires_in=60)
    client(provider, cache_dir, clock, scope="live").get_token()
    names = os.listdir(cache_dir)
    assert len(entries(cache_dir)) == 1 and len([name for name in names if name.endswith(".lock")]) == 1


def test_clean_up_leaves_an_entry_whose_lock_is_held(provider, cache_dir, clock):
    """Its holder may be renewing it right now."""
    issue(provider, expires_in=60)
    renewing = client(provider, cache_dir, clock, scope="renewing")
    renewing.get_token()
    entry = entries(cache_dir)[0]
    with os.fdopen(os.open(os.path.join(cache_dir, entry + ".lock"), os.O_RDWR)) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        clock.now = START + 61
        client(provider, cache_dir, clock, scope="other").get_token()
        assert entry in os.listdir(cache_dir) and entry + ".lock" in os.listdir(cache_dir)


def test_a_lock_file_removed_before_it_was_locked_is_locked_anew(tmp_path, monkeypatch):
    """A clean-up may unlink the lock file between a taker's open and flock; holding the unlinked file would lock nothing."""
    path = str(tmp_path / "entry.lock")
    real_flock = fcntl.flock
    removed = []

    def flock_after_a_clean_up(descriptor, operation):
        if not removed:
            removed.append(os.unlink(path))
        return real_flock(descriptor, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_a_clean_up)
    with token_cache._FileLock(path, time.monotonic() + 1.0) as lock:  # pylint: disable=protected-access
        assert lock.problem is None and removed
        assert os.fstat(lock._descriptor).st_ino == os.stat(path).st_ino  # pylint: disable=protected-access


def test_a_symlinked_cache_dir_is_refused(provider, cache_dir, clock, tmp_path):
    """Another user may plant cache_dir as a link to the victim's files in a shared directory."""
    victim = str(tmp_path / "victim")
    planted = plant(victim, str(tmp_path / "victim-file"))
    os.symlink(victim, cache_dir)
    issue(provider)
    attempt = client(provider, cache_dir, clock)
    assert attempt.get_token()["access_token"] == "tok"
    assert len(attempt.warnings) == 1 and "is a symbolic link" in attempt.warnings[0]
    assert sorted(os.listdir(victim)) == planted


@pytest.mark.parametrize("prepare, usable", [
    (lambda parent: os.chmod(parent, 0o777), False),
    (lambda parent: os.chmod(parent, 0o770), False),
    (lambda parent: os.chown(parent, 65534, 65534), False),
    (lambda parent: os.chmod(parent, 0o1777), True),  # like /tmp
])
def test_parents_that_other_users_can_change_are_refused(provider, tmp_path, clock, prepare, usable):
    parent = tmp_path / "shared"
    parent.mkdir()
    prepare(str(parent))
    issue(provider)
    for _attempt in range(2):
        attempt = client(provider, str(parent / "cache"), clock)
        assert attempt.get_token()["access_token"] == "tok"
    if usable:
        assert token_requests(provider) == 1 and attempt.warnings == []
    else:
        assert token_requests(provider) == 2 and "which other users can change" in attempt.warnings[0]


# -- the user key ----------------------------------------------------------------------------


def test_the_user_key_is_created_once_beside_the_cache_directory(provider, cache_dir, clock):
    issue(provider)
    client(provider, cache_dir, clock).get_token()
    key = open(cache_dir + ".key", "rb").read()
    assert len(key) == 32 and stat.S_IMODE(os.stat(cache_dir + ".key").st_mode) == 0o600
    assert not [name for name in os.listdir(cache_dir) if "key" in name]  # a copy of the directory lacks it
    clock.now = START + 600
    client(provider, cache_dir, clock).get_token()
    assert open(cache_dir + ".key", "rb").read() == key and token_requests(provider) == 2


@pytest.mark.parametrize("spoil", [
    lambda path: os.chmod(path, 0o644),
    lambda path: os.chown(path, 65534, 65534),
    lambda path: (os.replace(path, path + ".real"), os.symlink(path + ".real", path)),
    lambda path: open(path, "ab").write(b"x"),
])
def test_an_unsafe_user_key_turns_the_cache_off(provider, cache_dir, clock, spoil):
    issue(provider)
    client(provider, cache_dir, clock).get_token()
    spoil(cache_dir + ".key")
    attempt = client(provider, cache_dir, clock)
    assert attempt.get_token()["access_token"] == "tok" and token_requests(provider) == 2
    assert len(attempt.warnings) == 1 and "the token cache key %s.key cannot be created or read" % cache_dir in attempt.warnings[0]


def test_a_sealed_entry_opens_only_whole_with_its_key_and_identity():
    """Encrypt-then-MAC with HMAC-SHA256: any changed bit, another key or another identity opens nothing."""
    keys = CacheKeys(SECRET, ["https://idp/token", "app"], b"k" * 32)
    value = {"access_token": "tok-" + "x" * 100, "expires_at": int(START) + 600}
    blob = token_cache.seal(value, keys.encryption_key, keys.identity)
    assert cache_read.unseal(blob, keys.encryption_key, keys.identity) == value
    assert value["access_token"].encode() not in blob
    for position in range(len(blob)):
        flipped = blob[:position] + bytes([blob[position] ^ 0x01]) + blob[position + 1:]
        assert cache_read.unseal(flipped, keys.encryption_key, keys.identity) is None, position
    other_secret = CacheKeys("another secret", ["https://idp/token", "app"], b"k" * 32)
    other_identity = CacheKeys(SECRET, ["https://idp/token", "other"], b"k" * 32)
    assert cache_read.unseal(blob, other_secret.encryption_key, keys.identity) is None
    assert cache_read.unseal(blob, keys.encryption_key, other_identity.identity) is None
    assert cache_read.unseal(blob[:-1], keys.encryption_key, keys.identity) is None
    # A fresh nonce for every entry: the same value never seals to the same bytes.
    assert token_cache.seal(value, keys.encryption_key, keys.identity) != blob
