# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache on a real redis-server shared by controllers: separate homes share one token, also when their
plays start together; the server holds nothing readable; and a server that is stopped mid-play, refuses the password,
is not there, or never answers costs one warning and a play within 1.5x the time of the same play without Redis."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time

import pytest

from redis_server import free_port

INVENTORY = "[app]\n" + "\n".join("host%02d ansible_connection=local" % n for n in range(1, 21)) + "\n"
CACHE_KEY = "fleet-cache-key-for-the-integration-tests"
# The backend's connect and read timeout, as the warning says it.
SOCKET_TIMEOUT = 1.0

# Twenty hosts, three tasks that each take the token from the lookup, and between the first two a task that stops a
# process: the Redis server where the test says so, a stand-in otherwise, so that every play has the same shape.
PLAY = """
- hosts: app
  gather_facts: false
  tasks:
    - name: First use of the token
      ansible.builtin.debug:
        msg: "token of {{ lookup('oauth2.client_credentials.token') | length }} characters"
    - name: Stop a process between tasks, and wait until its port is closed
      ansible.builtin.command:
        argv: ["{{ ansible_playbook_python }}", "-c", "{{ stopper }}", "{{ stopped_pid }}", "{{ stopped_port }}"]
      vars:
        stopper: "{{ lookup('ansible.builtin.file', 'stopper.py') }}"
      changed_when: true
      run_once: true
      delegate_to: localhost
    - name: Second use of the token
      ansible.builtin.debug:
        msg: "token of {{ lookup('oauth2.client_credentials.token') | length }} characters"
    - name: Third use of the token
      ansible.builtin.debug:
        msg: "token of {{ lookup('oauth2.client_credentials.token') | length }} characters"
"""

# The same three uses of the token without the stop.
THREE_USES = re.sub(r"    - name: Stop a process.*?(?=    - name: Second use)", "", PLAY, flags=re.S)


# SIGTERM, as a service manager stops a server, then a wait of at most 10 s until the port is closed, looking every 20 ms
# (ansible.builtin.wait_for looks every second, which would weigh on a play of a few seconds).
STOPPER = """
import os, signal, socket, sys, time
os.kill(int(sys.argv[1]), signal.SIGTERM)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", int(sys.argv[2]))) != 0:
            sys.exit(0)
    time.sleep(0.02)
sys.exit("port %s still open" % sys.argv[2])
"""

# Listens on a port until it is killed, as the Redis server does: the play stops it where it does not stop the server.
LISTENER = "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(300)"


@contextlib.contextmanager
def stand_in_process():
    port = free_port()
    with subprocess.Popen([sys.executable, "-c", LISTENER, str(port)]) as process:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        try:
            yield ["-e", "stopped_pid=%d" % process.pid, "-e", "stopped_port=%d" % port]
        finally:
            process.kill()


@pytest.fixture
def stand_in():
    with stand_in_process() as arguments:
        yield arguments


def configure(ansible, url=None, password=None, cache_key=CACHE_KEY) -> None:
    """group_vars as a user keeps them: the connection in clear, the client secret and the cache's secrets vault-encrypted."""
    entry = ansible.provider.clients["basic"]
    ansible.write("inventory.ini", INVENTORY)
    ansible.write("ansible.cfg", "[defaults]\ninventory = inventory.ini\nforks = 5\n")
    ansible.write("stopper.py", STOPPER)
    text = "oauth2_token_url: %s\noauth2_ca_path: %s\noauth2_client_id: %s\n%s" % (
        ansible.provider.token_url, ansible.provider.ca_path, entry["client_id"], ansible.encrypt_string(entry["client_secret"], "oauth2_client_secret"))
    if url:
        text += "oauth2_cache_backend: redis\noauth2_cache_url: %s\n" % url
        text += "".join(ansible.encrypt_string(value, name) for name, value in (("oauth2_cache_password", password), ("oauth2_cache_key", cache_key))
                        if value)
    ansible.write("group_vars/all/oauth2.yml", text)


def timed_play(ansible, *args: str):
    started = time.monotonic()
    run = ansible.playbook(PLAY, *args)
    return run, time.monotonic() - started


def one_warning(run, text: str) -> None:
    """The play's only warning is text; older ansible-core wraps warnings, even inside long URLs, so spaces do not count."""
    assert run.output.count("[WARNING]") == 1 and "".join(run.output.split()).count("".join(text.split())) == 1, run.output


def test_two_controllers_with_separate_homes_share_one_token(tmp_path, make_controller, provider, redis_server, stand_in):
    redis_server.client().flushall()
    provider.reset()
    first, second = (make_controller(tmp_path / name) for name in ("one", "two"))
    for ansible in (first, second):
        configure(ansible, redis_server.url, redis_server.password)
    run = first.playbook(PLAY, *stand_in)
    assert run.returncode == 0 and "[WARNING]" not in run.output, run.output
    assert provider.token_requests() == 1
    run = second.playbook(PLAY, "-vvv", *stand_in)
    assert run.returncode == 0 and "[WARNING]" not in run.output, run.output
    assert provider.token_requests() == 1, "the second controller makes no token request"
    assert len(re.findall(r"^Token for client_id \S+ from the token cache", run.output, re.M)) == 60
    for ansible in (first, second):
        cache = ansible.directory / ".ansible" / "oauth2_client_credentials" / "cache"
        assert not cache.exists() or not [entry for entry in cache.iterdir() if "." not in entry.name], "the entries are on the server"


def test_two_plays_started_together_on_a_cold_cache_make_one_request(tmp_path, make_controller, provider, redis_server):
    redis_server.client().flushall()
    provider.reset()
    controllers = [make_controller(tmp_path / name) for name in ("one", "two")]
    plays = []
    for ansible in controllers:
        configure(ansible, redis_server.url, redis_server.password)
    for ansible in controllers:
        plays.append(ansible.start_playbook(THREE_USES, ansible.directory / "output.txt"))
    for play in plays:
        play.wait(timeout=300)
    for ansible, play in zip(controllers, plays):
        output = (ansible.directory / "output.txt").read_text()
        assert play.returncode == 0 and output.count(" ok=3 ") == 20 and "[WARNING]" not in output, output
    assert provider.token_requests() == 1


def test_the_server_holds_nothing_readable_and_nothing_shows_at_vvvv(tmp_path, make_controller, provider, redis_server):
    """Every key and value in every database, and the output at -vvvv: no token, no secret, no client id, no cache password."""
    redis_server.client().flushall()
    provider.reset()
    ansible = make_controller(tmp_path / "one")
    configure(ansible, redis_server.url, redis_server.password)
    run = ansible.playbook(THREE_USES, "-vvvv")
    assert run.returncode == 0, run.output
    ansible.assert_no_secrets(run, redis_server.password, CACHE_KEY)
    dump = redis_server.dump()
    assert dump and all(key.startswith(b"oauth2cc:") for _db, key in dump)
    tokens = provider.issued_tokens()
    assert len(tokens) == 1
    forbidden = [*tokens, *(part for token in tokens for part in token.split(".")[1:]), *ansible.client_secrets(),
                 *(client["client_id"] for client in provider.clients.values()), redis_server.password, CACHE_KEY, ansible.vault_password]
    everything = b"".join(key + value for (_db, key), value in dump.items())
    for value in forbidden:
        assert value.encode() not in everything, "the server holds a token, a secret or a client id in clear"


def working_play_seconds(make_controller, directory, redis_server=None) -> float:
    """The same play, cold, where nothing fails: with cache_backend file, or with the Redis server working throughout."""
    ansible = make_controller(directory)
    if redis_server is None:
        configure(ansible)
    else:
        if not redis_server.running:
            redis_server.start()
        redis_server.client().flushall()
        configure(ansible, redis_server.url, redis_server.password)
    ansible.provider.reset()
    with stand_in_process() as stop:
        run, seconds = timed_play(ansible, *stop)
    assert run.returncode == 0 and ansible.provider.token_requests() == 1, run.output
    return seconds


def silent_port():
    """A port that accepts connections and never answers, like a hung server or a firewall that drops the packets."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


BROKEN = ["stopped mid-play", "wrong password", "closed port", "never answers"]


def broken_play(make_controller, directory, redis_server, broken):
    """The play against a server broken as the case says: its run, seconds, the server's URL and the warning's reason."""
    if not redis_server.running:
        redis_server.start()
    redis_server.client().flushall()
    ansible = make_controller(directory)
    url, password, listener, reason = redis_server.url, redis_server.password, None, "cannot be reached"
    stop = contextlib.ExitStack()
    with stop:
        if broken == "stopped mid-play":
            arguments = ["-e", "stopped_pid=%d" % redis_server.pid, "-e", "stopped_port=%d" % redis_server.port]
        else:
            arguments = stop.enter_context(stand_in_process())
        if broken == "wrong password":
            password, reason = "not-the-password", "refused cache_password"
        elif broken == "closed port":
            url = "redis://127.0.0.1:%d/0" % free_port()
        elif broken == "never answers":
            listener = stop.enter_context(contextlib.closing(silent_port()))
            url, reason = "redis://127.0.0.1:%d/0" % listener.getsockname()[1], "did not answer within 1 s"
        configure(ansible, url, password)
        ansible.provider.reset()
        run, seconds = timed_play(ansible, *arguments)
    return ansible, run, seconds, url, reason


@pytest.mark.parametrize("broken", BROKEN)
def test_a_server_that_cannot_be_used_costs_one_warning_and_little_time(tmp_path, make_controller, provider, redis_server, broken):
    """Each run against the same play where nothing fails, run just before it: with cache_backend file where the server
    never works, since the file cache is what serves then; with the server working throughout where it stops mid-play,
    since each worker that uses a working server pays for redis-py (README: What it costs), which is no cost of its
    failure. Other work on this machine slows runs at random; a cost of the broken server is there every time: a pair
    over the bound is measured once more."""
    # Each of the first forks waits one timeout before the note tells the others to skip a silent server: one timeout per
    # controller, where without the note each of the 60 tasks would wait one (12 s with 5 forks).
    allowance = SOCKET_TIMEOUT if broken == "never answers" else 0.0
    working = "the server working throughout" if broken == "stopped mid-play" else "cache_backend file"
    for attempt in (1, 2):
        baseline = working_play_seconds(make_controller, tmp_path / ("working-%d" % attempt),
                                        redis_server if broken == "stopped mid-play" else None)
        ansible, run, seconds, url, reason = broken_play(make_controller, tmp_path / ("redis-%d" % attempt), redis_server, broken)
        assert run.returncode == 0, run.output
        one_warning(run, "Shared token cache not used: the Redis server at %s %s; the local token cache is used instead." % (url, reason))
        # Mid-play, the token the server held is lost with it: the file cache requests one more, once for every fork.
        assert provider.token_requests() == (2 if broken == "stopped mid-play" else 1)
        ansible.assert_no_secrets(run, redis_server.password, CACHE_KEY)
        print("%s, attempt %d: %.1f s, the same play with %s %.1f s (%.2fx)" % (broken, attempt, seconds, working, baseline, seconds / baseline))
        if seconds < 1.5 * baseline + allowance:
            return
    pytest.fail("%s: %.1f s, more than 1.5x the %.1f s of the same play with %s, twice" % (broken, seconds, baseline, working))
