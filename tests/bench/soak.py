#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""make soak: many hosts and forks share one cached token, also while the provider restarts.

Phase "steady": SOAK_HOSTS local hosts, SOAK_FORKS forks, SOAK_TASKS tasks that each take the token from the
lookup (cache on) and check it; the provider must see exactly one token request.
Phase "restart": the same play at -vvv with a fresh cache, started while the provider is stopped; once a fork
has taken the token cache's lock to request the token, the provider stays down SOAK_DOWN seconds more and then
comes back on the same ports. Every task must still succeed, and the restart must have been met: the client
logged failed attempts and retries before the restarted provider saw its one token request.
Phase "shared": two controllers (homes of their own, so file caches of their own) run the steady play at once with
cache_backend redis on one redis-server; the provider must see exactly one token request for both.
Figures are printed and written to .build/soak/results.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from harness import Provider, install_collection  # noqa: E402  pylint: disable=wrong-import-position
from redis_server import RedisServer  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
WORK = REPO / ".build" / "soak"
HOSTS = int(os.environ.get("SOAK_HOSTS", "200"))
FORKS = int(os.environ.get("SOAK_FORKS", "50"))
TASKS = int(os.environ.get("SOAK_TASKS", "2"))
DOWN_SECONDS = float(os.environ.get("SOAK_DOWN", "3"))
# Enough retries to span a restart of a few seconds; the play's bound is (5 + 1) x 10 + 5 x 30 seconds.
RETRIES = 5
# The transport's line for each retry, shown at -vvv: what failed, and the wait before the next attempt.
RETRY_LINE = re.compile(r"Token endpoint \S+: attempt (\d+) failed \(([^)]*)\), retrying in ([\d.]+) s")

CHECK = """    - name: Token {n} is valid
      ansible.builtin.assert:
        that:
          - token.claims.iss == expected_issuer
          - token.expires_at > now(utc=true).timestamp() | int
        quiet: true
      vars:
        token: "{{{{ lookup('oauth2.client_credentials.token', output='full') }}}}"
"""


def run_play(env: dict, home: Path, *args: str) -> subprocess.Popen:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return subprocess.Popen([str(BIN / "ansible-playbook"), str(WORK / "soak.yml"), "-i", str(WORK / "inventory.ini"), "--forks", str(FORKS), *args],
                            env=dict(env, HOME=str(home), ANSIBLE_HOME=str(home / ".ansible")), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def shared_phase(env: dict, provider: Provider) -> dict:
    """Two controllers started together on one Redis server, cold: one token request between them."""
    with RedisServer(WORK / "redis") as server:
        shared = dict(env, ANSIBLE_OAUTH2_CACHE_BACKEND="redis", ANSIBLE_OAUTH2_CACHE_URL=server.url,
                      ANSIBLE_OAUTH2_CACHE_PASSWORD=server.password, ANSIBLE_OAUTH2_CACHE_KEY="soak-fleet-cache-key-0123456789")
        provider.reset()
        started = time.monotonic()
        plays = [run_play(shared, WORK / ("home-shared-%d" % n)) for n in (1, 2)]
        outputs = [play.communicate()[0] for play in plays]
        seconds = time.monotonic() - started
        for play, output in zip(plays, outputs):
            if play.returncode != 0 or "[WARNING]" in output:
                sys.exit("soak: shared: a controller failed or warned:\n%s" % output[-4000:])
        entries = len(server.client().keys("oauth2cc:*"))
    return {"seconds": round(seconds, 1), "token_requests": provider.token_requests(), "tasks": 2 * HOSTS * TASKS, "controllers": 2,
            "redis_entries": entries}


def finish(name: str, play: subprocess.Popen, started: float, provider: Provider) -> Tuple[dict, str]:
    output = play.communicate()[0]
    seconds = time.monotonic() - started
    if play.returncode != 0:
        sys.exit("soak: %s failed:\n%s" % (name, output[-4000:]))
    return {"seconds": round(seconds, 1), "token_requests": provider.token_requests(), "tasks": HOSTS * TASKS}, output


def wait_for_token_request(play: subprocess.Popen, home: Path) -> float:
    """Seconds until a fork holds the token cache's lock: it takes the lock right before it sends the token request."""
    started = time.monotonic()
    cache = home / ".ansible" / "oauth2_client_credentials" / "cache"
    while not (cache.is_dir() and any(cache.glob("*.lock"))):
        if play.poll() is not None:
            sys.exit("soak: restart: the play ended before it requested a token:\n%s" % play.communicate()[0][-4000:])
        time.sleep(0.05)
    return time.monotonic() - started


def retries_seen(output: str) -> List[Tuple[int, str, float]]:
    """The retries the client logged: attempt number, cause, wait."""
    return [(int(attempt), cause, float(wait)) for attempt, cause, wait in RETRY_LINE.findall(output)]


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    collections = install_collection(WORK, BIN)
    (WORK / "soak.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n" + "".join(CHECK.format(n=n) for n in range(1, TASKS + 1)))
    results = {"hosts": HOSTS, "forks": FORKS, "tasks_per_host": TASKS, "down_seconds": DOWN_SECONDS, "cpus": os.cpu_count()}
    with Provider(WORK / "provider") as provider:
        client = provider.clients["basic"]
        variables = {"oauth2_token_url": provider.token_url, "oauth2_ca_path": str(provider.ca_path), "oauth2_client_id": client["client_id"],
                     "oauth2_client_secret": client["client_secret"], "oauth2_retries": RETRIES, "expected_issuer": provider.issuer}
        (WORK / "inventory.ini").write_text("[all:vars]\n%s\n[app]\n%s\n" % (
            "\n".join("%s=%s" % pair for pair in variables.items()),
            "\n".join("host%03d ansible_connection=local" % n for n in range(1, HOSTS + 1))))
        env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, NO_PROXY="127.0.0.1,localhost")
        provider.reset()
        started = time.monotonic()
        results["steady"] = finish("steady", run_play(env, WORK / "home-steady"), started, provider)[0]
        # Restarted in place: the same ports, CA and certificates, so the play's configuration does not change across it.
        provider.stop()
        started = time.monotonic()
        play = run_play(env, WORK / "home-restart", "-vvv")
        try:
            requested_after = wait_for_token_request(play, WORK / "home-restart")
            time.sleep(DOWN_SECONDS)
            provider.start()
            restarted_after = time.monotonic() - started
            results["restart"], output = finish("restart", play, started, provider)
        finally:
            if play.poll() is None:
                play.kill()
                play.wait()
        results["shared"] = shared_phase(env, provider)
    retries = retries_seen(output)
    results["restart"].update(first_token_request_after=round(requested_after, 1), provider_back_after=round(restarted_after, 1),
                              failed_attempts=[{"attempt": attempt, "cause": cause, "retry_in": wait} for attempt, cause, wait in retries])
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    failures = ["%s: the provider saw %d token requests, not one" % (phase, results[phase]["token_requests"])
                for phase in ("steady", "restart", "shared") if results[phase]["token_requests"] != 1]
    # Met the restart: attempts 1, 2, ... failed against the stopped provider before the one request that reached it.
    if not retries or [attempt for attempt, _cause, _wait in retries] != list(range(1, len(retries) + 1)):
        failures.append("restart: the client logged no failed attempts against the stopped provider, in order, at -vvv")
    for failure in failures:
        print("soak: " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
