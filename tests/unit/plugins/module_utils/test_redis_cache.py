# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache on a real redis-server (tests/redis_server.py): sharing across separate file caches, what the server
holds, expiry, single flight with a lease that a dead holder frees, foreign values, and every way a server that cannot
be used falls back on the local file cache within a bound."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import time

import pytest

from ansible_collections.oauth2.client_credentials.plugins.module_utils import redis_cache
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions, too_short_for_no_log
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.redis_cache import KEY_PREFIX, connection_settings
from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import MAGIC
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_cache import open_cache
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient

from redis_server import RedisServer, free_port

SECRET = "redis-Secret-Value-0123456789"
CACHE_KEY = "fleet-cache-key-0123456789abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
def redis_server(server):
    """The module's server, empty and healthy for each test."""
    if not server.running:
        server.start()
    client = server.client()
    client.flushall()
    yield server
    if server.running:
        client = server.client()
        client.replicaof("NO", "ONE")
        client.config_set("maxmemory", "0")
        client.flushall()


def settings(provider, cache_dir, url, password, **overrides):
    values = {"token_url": provider.base_url + "/token", "client_id": "redis-app", "client_secret": SECRET, "cache_dir": str(cache_dir),
              "cache_backend": "redis", "cache_url": url, "cache_password": password}
    values.update(overrides)
    return values


def controller(provider, cache_dir, url, password, **overrides):
    """A TokenClient as one controller (its own file cache) configured for the server."""
    return TokenClient(ClientOptions.from_mapping(settings(provider, cache_dir, url, password, **overrides)))


def issue(provider, token="tok-1", expires_in=600, delay=0.0):
    provider.answer("/token", json_body={"access_token": token, "token_type": "Bearer", "expires_in": expires_in}, delay=delay)


def token_requests(provider):
    return sum(1 for seen in provider.requests if seen.path == "/token")


def local_entries(cache_dir):
    return [name for name in os.listdir(cache_dir) if "." not in name] if os.path.isdir(cache_dir) else []


# -- the options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("redis://127.0.0.1:6390/2", {"host": "127.0.0.1", "port": 6390, "db": 2, "ssl": False, "username": None}),
    ("redis://redis.example.com", {"host": "redis.example.com", "port": 6379, "db": 0, "ssl": False, "username": None}),
    ("rediss://tokens@redis.example.com:6380/0", {"host": "redis.example.com", "port": 6380, "db": 0, "ssl": True, "username": "tokens"}),
    ("unix:///run/redis/redis.sock?db=3", {"unix_socket_path": "/run/redis/redis.sock", "db": 3, "username": None}),
])
def test_cache_urls(url, expected):
    assert connection_settings(url) == expected


@pytest.mark.parametrize("url, message", [
    ("redis://:hunter2-password@redis.example.com:6379/0", "cache_url holds a password: leave it out of the URL, and give it as cache_password"),
    ("redis://user:hunter2-password@redis.example.com/0", "cache_url holds a password"),
    ("http://redis.example.com:6379/0", "cache_url must start with redis://, rediss:// (TLS) or unix://, not http://."),
    ("redis.example.com:6379", "cache_url must start with redis://, rediss:// (TLS) or unix://"),
    ("redis://redis.example.com/0?socket_timeout=600", "cache_url has query parameters socket_timeout, which the collection does not take"),
    ("redis://redis.example.com/zero", "cache_url's database must be a number, as in redis://host:6379/0, not zero."),
    ("redis:///0", "cache_url needs the server's host"),
    ("unix://run/redis.sock", "cache_url unix:// needs the socket's absolute path"),
    ("redis://redis.example.com:99999/0", "cache_url is not a URL of a Redis server"),
    ("redis://redis example.com/0", "cache_url must not contain spaces or control characters."),
])
def test_bad_cache_urls_are_one_line_that_never_shows_a_password(url, message):
    with pytest.raises(OAuth2Error) as caught:
        connection_settings(url)
    assert message in str(caught.value) and "hunter2" not in str(caught.value)


@pytest.mark.parametrize("overrides, message", [
    ({"cache_url": None}, "cache_backend redis needs cache_url: give the server as redis://host:port/db"),
    ({"cache_backend": "file"}, "cache_url is set, but cache_backend is file: set cache_backend: redis"),
    ({"cache_backend": "memcached"}, "cache_backend memcached is not supported: use file (the default) or redis."),
    ({"cache_key": "short-key"}, "cache_key is shorter than 16 characters"),
])
def test_bad_cache_options(provider, tmp_path, overrides, message):
    with pytest.raises(OAuth2Error, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        ClientOptions.from_mapping(settings(provider, tmp_path, "redis://127.0.0.1:1/0", "password-1", **overrides))


def test_an_identity_token_client_needs_cache_key_on_redis(provider, tmp_path):
    """Its entries are keyed by the workload (iss, sub, aud), which is no secret: on a shared server only cache_key keeps
    them from whoever reaches it."""
    import jwt  # pylint: disable=import-outside-toplevel

    now = int(time.time())
    assertion = jwt.encode({"iss": "https://ci.example", "sub": "repo:deploy", "aud": "https://idp", "iat": now, "exp": now + 300,
                            "jti": "j1"}, "k" * 32, algorithm="HS256")
    values = dict(settings(provider, tmp_path, "redis://127.0.0.1:1/0", "password-1"), client_secret=None, client_assertion=assertion)
    with pytest.raises(OAuth2Error, match="^cache_backend redis with auth_method client_assertion needs cache_key: "):
        ClientOptions.from_mapping(values)
    assert ClientOptions.from_mapping(dict(values, cache_key=CACHE_KEY)).cache_key == CACHE_KEY
    assert ClientOptions.from_mapping(dict(values, cache_backend="file", cache_url=None)).auth_method == "client_assertion"


def test_the_cache_credentials_are_secrets(provider, tmp_path):
    options = ClientOptions.from_mapping(settings(provider, tmp_path, "redis://127.0.0.1:1/0", "cache-password-1", cache_key=CACHE_KEY))
    assert {"cache-password-1", CACHE_KEY} <= set(options.secret_values())
    assert "cache-password-1" not in repr(options) and CACHE_KEY not in repr(options)
    assert "cache_password is shorter than 8 characters" in too_short_for_no_log({"cache_password": "short"})
    # Masked in output whichever backend is chosen: a vault value set for every play may meet one that uses the files.
    local = ClientOptions.from_mapping(dict(settings(provider, tmp_path, None, "cache-password-1"), cache_backend="file"))
    assert "cache-password-1" in local.secret_values() and local.cache_url is None


def test_the_file_backend_never_loads_the_redis_code(provider, tmp_path, monkeypatch):
    """Each forked worker compiles what it imports: the Redis backend costs nothing to those who did not choose it."""
    for name in [name for name in sys.modules if name.endswith("module_utils.redis_cache") or name == "redis" or name.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    issue(provider)
    client = TokenClient(ClientOptions.from_mapping({"token_url": provider.base_url + "/token", "client_id": "app", "client_secret": SECRET,
                                                     "cache_dir": str(tmp_path / "cache")}))
    client.get_token()
    assert not [name for name in sys.modules if name.endswith("module_utils.redis_cache") or name == "redis"]


# -- sharing -------------------------------------------------------------------------------------


def test_two_controllers_share_one_token_and_the_server_holds_nothing_readable(provider, tmp_path, redis_server):
    issue(provider, token="shared-token-value")
    first = controller(provider, tmp_path / "one", redis_server.url, redis_server.password)
    assert first.get_token()["access_token"] == "shared-token-value" and first.warnings == []
    second = controller(provider, tmp_path / "two", redis_server.url, redis_server.password)
    assert second.get_token()["access_token"] == "shared-token-value" and second.from_cache and second.warnings == []
    assert token_requests(provider) == 1
    assert local_entries(tmp_path / "one") == local_entries(tmp_path / "two") == [], "the server holds the entries, no file cache"
    dump = redis_server.dump()
    assert len(dump) == 1
    (db, key), value = next(iter(dump.items()))
    assert db == 0 and key.startswith(KEY_PREFIX.encode()) and len(key) == len(KEY_PREFIX) + 64 and value.startswith(MAGIC)
    for clear in (b"shared-token-value", SECRET.encode(), b"redis-app", redis_server.password.encode(), b"Bearer"):
        assert clear not in key + value


def test_entries_expire_with_the_token_never_later(provider, tmp_path, redis_server):
    issue(provider, expires_in=30)
    client = controller(provider, tmp_path, redis_server.url, redis_server.password)
    expires_at = client.get_token()["expires_at"]
    (key,) = redis_server.client().keys("*")
    before = time.time()
    # The server's expiry, now + PTTL, is no later than the token's own.
    assert 0 < redis_server.client().pttl(key) <= (expires_at - before) * 1000 + 1


def test_cache_key_keys_the_entries(provider, tmp_path, redis_server):
    """Controllers share entries only under the same cache_key; without one, entries of the same credential are shared."""
    issue(provider, token="tok-a")
    assert controller(provider, tmp_path / "a", redis_server.url, redis_server.password, cache_key=CACHE_KEY).get_token()
    issue(provider, token="tok-b")
    other = controller(provider, tmp_path / "b", redis_server.url, redis_server.password, cache_key=CACHE_KEY[::-1])
    assert other.get_token()["access_token"] == "tok-b" and not other.from_cache
    issue(provider, token="tok-c")
    none = controller(provider, tmp_path / "c", redis_server.url, redis_server.password)
    assert none.get_token()["access_token"] == "tok-c"
    same = controller(provider, tmp_path / "d", redis_server.url, redis_server.password, cache_key=CACHE_KEY)
    assert same.get_token()["access_token"] == "tok-a" and same.from_cache
    assert token_requests(provider) == 3 and len(redis_server.client().keys("*")) == 3


def test_a_refused_token_is_replaced_once_for_the_fleet(provider, tmp_path, redis_server):
    issue(provider, token="tok-1")
    controller(provider, tmp_path / "a", redis_server.url, redis_server.password).get_token()
    issue(provider, token="tok-2")
    assert controller(provider, tmp_path / "b", redis_server.url, redis_server.password).get_token(rejected="tok-1")["access_token"] == "tok-2"
    assert controller(provider, tmp_path / "c", redis_server.url, redis_server.password).get_token(rejected="tok-1")["access_token"] == "tok-2"
    assert token_requests(provider) == 2


def _one_controller(base_url, cache_dir, url, password, results):
    client = TokenClient(ClientOptions.from_mapping({"token_url": base_url + "/token", "client_id": "redis-app", "client_secret": SECRET,
                                                     "cache_dir": cache_dir, "cache_backend": "redis", "cache_url": url,
                                                     "cache_password": password}))
    results.put((client.get_token()["access_token"], client.warnings))


def in_processes(count, target, *args):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=target, args=args[:1] + ("%s-%d" % (args[1], n),) + args[2:] + (results,)) for n in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    return [results.get(timeout=5) for _n in processes]


def test_many_controllers_missing_at_once_send_one_request(provider, tmp_path, redis_server):
    """Twelve processes, each with a file cache of its own, as twelve controllers: only the server makes them wait."""
    issue(provider, token="shared", delay=0.5)
    results = in_processes(12, _one_controller, provider.base_url, str(tmp_path / "controller"), redis_server.url, redis_server.password)
    assert results == [("shared", [])] * 12
    assert token_requests(provider) == 1
    assert redis_server.client().keys("*:lock") == [], "the lock is released"


def test_the_lease_is_renewed_while_a_slow_request_runs(provider, tmp_path, redis_server, monkeypatch):
    """A holder still fetching after several leases keeps the lock: the others wait for its token, none sends another."""
    monkeypatch.setattr(redis_cache, "LOCK_LEASE", 0.4)
    monkeypatch.setattr(redis_cache, "LOCK_RENEW", 0.1)
    issue(provider, token="slow", delay=1.5)
    results = in_processes(3, _one_controller, provider.base_url, str(tmp_path / "controller"), redis_server.url, redis_server.password)
    assert results == [("slow", [])] * 3 and token_requests(provider) == 1


def _hold_and_die(base_url, cache_dir, url, password, results):
    """Takes the lock and requests a token from a provider that never answers in time; the test kills it meanwhile."""
    results.put(os.getpid())
    _one_controller(base_url, cache_dir, url, password, results)


def test_a_dead_holder_frees_the_lock_within_its_lease(provider, tmp_path, redis_server, monkeypatch):
    monkeypatch.setattr(redis_cache, "LOCK_LEASE", 1.0)
    issue(provider, token="late", delay=30)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    holder = context.Process(target=_hold_and_die, args=(provider.base_url, str(tmp_path / "holder"), redis_server.url, redis_server.password,
                                                         results))
    holder.start()
    results.get(timeout=5)
    deadline = time.monotonic() + 5
    while not redis_server.client().keys("*:lock") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert redis_server.client().keys("*:lock"), "the holder took the lock"
    os.kill(holder.pid, signal.SIGKILL)  # as a task timeout or a cancelled job ends it: no finally runs
    holder.join()
    issue(provider, token="after")
    started = time.monotonic()
    client = controller(provider, tmp_path / "waiter", redis_server.url, redis_server.password)
    assert client.get_token()["access_token"] == "after" and client.warnings == []
    assert time.monotonic() - started < 3.0


# -- what is not ours ----------------------------------------------------------------------------


@pytest.mark.parametrize("plant", [
    pytest.param(lambda client, key: client.set(key, b"not an entry"), id="garbage"),
    pytest.param(lambda client, key: client.rpush(key, b"a", b"list"), id="wrong type"),
    pytest.param(lambda client, key: client.set(key, MAGIC + b"\0" * 40), id="forged header"),
])
def test_a_foreign_value_under_our_key_is_ignored_and_overwritten(provider, tmp_path, redis_server, plant):
    issue(provider, token="tok-1")
    controller(provider, tmp_path / "a", redis_server.url, redis_server.password).get_token()
    (key,) = redis_server.client().keys("*")
    redis_server.client().delete(key)
    plant(redis_server.client(), key)
    issue(provider, token="tok-2")
    client = controller(provider, tmp_path / "b", redis_server.url, redis_server.password)
    assert client.get_token()["access_token"] == "tok-2"
    assert len(client.warnings) == 1 and client.warnings[0].startswith("Token cache not used: the token cache entry %s" % key.decode())
    assert controller(provider, tmp_path / "c", redis_server.url, redis_server.password).get_token()["access_token"] == "tok-2"
    assert token_requests(provider) == 2


def test_a_foreign_key_where_the_lock_goes_expires_like_a_dead_holders(provider, tmp_path, redis_server, monkeypatch):
    monkeypatch.setattr(redis_cache, "LOCK_LEASE", 0.5)
    issue(provider, token="tok-1")
    client = controller(provider, tmp_path / "a", redis_server.url, redis_server.password)
    name = client._keys().name("token")  # pylint: disable=protected-access
    redis_server.client().set(KEY_PREFIX + name + ":lock", b"someone else's, forever")
    started = time.monotonic()
    assert client.get_token()["access_token"] == "tok-1" and client.warnings == []
    assert time.monotonic() - started < 2.0


# -- a server that cannot be used ----------------------------------------------------------------


def silent_server():
    """A port that accepts connections and never answers, as a hung server or a black-holing firewall would."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener


def use(provider, cache_dir, url, password):
    started = time.monotonic()
    client = controller(provider, cache_dir, url, password)
    token = client.get_token()["access_token"]
    return token, client.warnings, time.monotonic() - started


FALLBACK = "; the local token cache is used instead."


def test_a_closed_port_costs_one_warning_and_the_file_cache_serves(provider, tmp_path):
    issue(provider, token="local")
    url = "redis://127.0.0.1:%d/0" % free_port()
    token, warnings, _seconds = use(provider, tmp_path / "cache", url, "password-1")
    assert token == "local" and warnings == ["Shared token cache not used: the Redis server at %s cannot be reached%s" % (url, FALLBACK)]
    assert len(local_entries(tmp_path / "cache")) == 1
    token, warnings, _seconds = use(provider, tmp_path / "cache", url, "password-1")
    assert token == "local" and len(warnings) == 1 and token_requests(provider) == 1, "the user's other processes use the file cache"


def test_a_wrong_password(provider, tmp_path, redis_server):
    issue(provider)
    _token, warnings, _seconds = use(provider, tmp_path / "cache", redis_server.url, "not-the-password")
    assert warnings == ["Shared token cache not used: the Redis server at %s refused cache_password%s" % (redis_server.url, FALLBACK)]
    assert redis_server.client().keys("*") == []


def test_no_password(provider, tmp_path, redis_server):
    issue(provider)
    _token, warnings, _seconds = use(provider, tmp_path / "cache", redis_server.url, None)
    assert warnings == ["Shared token cache not used: the Redis server at %s asks for a password: set cache_password%s" % (
        redis_server.url, FALLBACK)]


def test_a_silent_server_costs_one_timeout_per_controller_not_one_per_task(provider, tmp_path):
    """The first process waits SOCKET_TIMEOUT and leaves a note; the user's processes after it skip the server at once."""
    issue(provider, token="local")
    listener = silent_server()
    try:
        url = "redis://127.0.0.1:%d/0" % listener.getsockname()[1]
        token, warnings, first = use(provider, tmp_path / "cache", url, "password-1")
        assert token == "local" and warnings == ["Shared token cache not used: the Redis server at %s did not answer within 1 s%s" % (
            url, FALLBACK)]
        assert 0.9 < first < 2.5
        note = (tmp_path / "cache.redis-down")
        assert oct(note.stat().st_mode & 0o777) == "0o600" and url in note.read_text()
        for _task in range(5):
            token, again, seconds = use(provider, tmp_path / "cache", url, "password-1")
            assert token == "local" and again == warnings and seconds < 0.5
        assert token_requests(provider) == 1
    finally:
        listener.close()


def test_after_the_pause_one_process_tries_again_and_a_healthy_server_is_used(provider, tmp_path, redis_server, monkeypatch):
    monkeypatch.setattr(redis_cache, "DOWN_SECONDS", 0.3)
    issue(provider, token="tok-1")
    closed = redis_server.url
    redis_server.stop()
    assert use(provider, tmp_path / "cache", closed, redis_server.password)[1]
    assert (tmp_path / "cache.redis-down").exists()
    redis_server.start()
    assert use(provider, tmp_path / "cache", closed, redis_server.password)[1], "skipped while the note is fresh"
    time.sleep(0.35)
    issue(provider, token="tok-2")
    token, warnings, _seconds = use(provider, tmp_path / "cache", closed, redis_server.password)
    assert token == "tok-2" and warnings == [] and not (tmp_path / "cache.redis-down").exists()
    assert len(redis_server.client().keys("*")) == 1


def test_a_note_for_another_server_is_not_this_ones(provider, tmp_path, redis_server):
    issue(provider)
    url = "redis://127.0.0.1:%d/0" % free_port()
    assert use(provider, tmp_path / "cache", url, "password-1")[1]
    assert use(provider, tmp_path / "cache", redis_server.url, redis_server.password)[1] == []


@pytest.mark.parametrize("break_it, reason", [
    (lambda client: client.replicaof("127.0.0.1", free_port()), "is a read-only replica"),
    (lambda client: client.config_set("maxmemory", "1"), "is full (maxmemory)"),
])
def test_a_server_that_refuses_writes_keeps_the_token_in_the_file_cache(provider, tmp_path, redis_server, break_it, reason):
    issue(provider, token="tok-1")
    break_it(redis_server.client())
    token, warnings, _seconds = use(provider, tmp_path / "cache", redis_server.url, redis_server.password)
    assert token == "tok-1" and warnings == ["Shared token cache not used: the Redis server at %s %s%s" % (redis_server.url, reason, FALLBACK)]
    assert len(local_entries(tmp_path / "cache")) == 1, "the token fetched before the write failed is kept for the user's processes"
    assert use(provider, tmp_path / "cache", redis_server.url, redis_server.password)[0] == "tok-1" and token_requests(provider) == 1


def test_a_server_stopped_after_the_token_was_shared(provider, tmp_path, redis_server):
    issue(provider, token="tok-1")
    assert use(provider, tmp_path / "a", redis_server.url, redis_server.password)[1] == []
    redis_server.stop()
    issue(provider, token="tok-2")
    token, warnings, _seconds = use(provider, tmp_path / "a", redis_server.url, redis_server.password)
    assert token == "tok-2" and len(warnings) == 1 and "cannot be reached" in warnings[0]


def test_without_the_redis_package_one_warning_names_it(provider, tmp_path, monkeypatch):
    for name in [name for name in sys.modules if name == "redis" or name.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)
    issue(provider, token="local")
    token, warnings, _seconds = use(provider, tmp_path / "cache", "redis://127.0.0.1:6379/0", "password-1")
    assert token == "local" and warnings == [
        "Shared token cache not used: cache_backend redis needs the Python package redis where this runs (pip install redis)" + FALLBACK]


def test_an_unusable_file_cache_as_well_still_gives_the_token(provider, tmp_path):
    issue(provider, token="direct")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    url = "redis://127.0.0.1:%d/0" % free_port()
    token, warnings, _seconds = use(provider, shared / "cache", url, "password-1")
    assert token == "direct" and len(warnings) == 2 and "cannot be reached" in warnings[0] and "other users can change" in warnings[1]


def test_open_cache_chooses_once(tmp_path):
    assert type(open_cache(str(tmp_path / "c"))).__name__ == "TokenCache"
    assert type(open_cache(str(tmp_path / "c"), backend="redis", url="redis://127.0.0.1:1/0")).__name__ == "RedisTokenCache"


ACL_RULES = ["on", ">acl-user-password-1", "~oauth2cc:*", "+get", "+set", "+del", "+pttl", "+pexpire", "+evalsha", "+script|load"]


def test_an_acl_user_with_only_the_documented_commands_is_enough(provider, tmp_path, redis_server, monkeypatch):
    """The README's least privilege: the keys oauth2cc:* and seven commands (those of redis-py's lock scripts included:
    a lease renewed by a denied script would run out while the holder fetches, and the others would request too)."""
    monkeypatch.setattr(redis_cache, "LOCK_LEASE", 0.3)
    monkeypatch.setattr(redis_cache, "LOCK_RENEW", 0.1)
    redis_server.client().execute_command("ACL", "SETUSER", "tokens", "reset", *ACL_RULES)
    url = redis_server.url.replace("redis://", "redis://tokens@")
    issue(provider, token="tok-1", delay=1.0)
    results = in_processes(3, _one_controller, provider.base_url, str(tmp_path / "controller"), url, "acl-user-password-1")
    assert results == [("tok-1", [])] * 3 and token_requests(provider) == 1
    assert redis_server.client().keys("*:lock") == [], "released by the holder's script, not expired"
    name = controller(provider, tmp_path / "a", url, "acl-user-password-1")._keys().name("token")  # pylint: disable=protected-access
    redis_server.client().set(KEY_PREFIX + name + ":lock", b"foreign")
    redis_server.client().delete(KEY_PREFIX + name)
    client = controller(provider, tmp_path / "b", url, "acl-user-password-1")
    assert client.get_token()["access_token"] == "tok-1" and client.warnings == []
    redis_server.client().execute_command("ACL", "DELUSER", "tokens")
