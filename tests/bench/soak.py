#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""make soak: many hosts and forks share one cached token, also while the provider restarts.

Phase "steady": SOAK_HOSTS local hosts, SOAK_FORKS forks, SOAK_TASKS tasks that each take the token from the
lookup (cache on) and check it; the provider must see exactly one token request.
Phase "restart": the same play with a fresh cache, started while the provider is stopped; the provider comes
back SOAK_DOWN seconds later on the same ports, and every task must still succeed, through retries.
Figures are printed and written to .build/soak/results.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from harness import Provider, install_collection  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
WORK = REPO / ".build" / "soak"
HOSTS = int(os.environ.get("SOAK_HOSTS", "200"))
FORKS = int(os.environ.get("SOAK_FORKS", "50"))
TASKS = int(os.environ.get("SOAK_TASKS", "2"))
DOWN_SECONDS = float(os.environ.get("SOAK_DOWN", "3"))
# Enough retries to span a restart of a few seconds; the play's bound is (5 + 1) x 10 + 5 x 30 seconds.
RETRIES = 5

CHECK = """    - name: Token {n} is valid
      ansible.builtin.assert:
        that:
          - token.claims.iss == expected_issuer
          - token.expires_at > now(utc=true).timestamp() | int
        quiet: true
      vars:
        token: "{{{{ lookup('oauth2.client_credentials.token', output='full') }}}}"
"""


def run_play(env: dict, home: Path) -> subprocess.Popen:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return subprocess.Popen([str(BIN / "ansible-playbook"), str(WORK / "soak.yml"), "-i", str(WORK / "inventory.ini"), "--forks", str(FORKS)],
                            env=dict(env, HOME=str(home), ANSIBLE_HOME=str(home / ".ansible")), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(name: str, play: subprocess.Popen, started: float, provider: Provider) -> dict:
    output = play.communicate()[0]
    seconds = time.monotonic() - started
    if play.returncode != 0:
        sys.exit("soak: %s failed:\n%s" % (name, output[-4000:]))
    return {"seconds": round(seconds, 1), "token_requests": provider.token_requests(), "tasks": HOSTS * TASKS}


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
        results["steady"] = finish("steady", run_play(env, WORK / "home-steady"), started, provider)
        ports = (urlsplit(provider.issuer).port, urlsplit(provider.api_url).port)
        provider.stop()
    # The same ports and CA file path: the play's configuration does not change across the restart.
    restarted = Provider(WORK / "provider", *ports)
    try:
        started = time.monotonic()
        play = run_play(env, WORK / "home-restart")
        time.sleep(DOWN_SECONDS)
        restarted.start()
        results["restart"] = finish("restart", play, started, restarted)
    finally:
        restarted.stop()
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    failures = [phase for phase in ("steady", "restart") if results[phase]["token_requests"] != 1]
    if failures:
        print("soak: the provider saw more than one token request in %s" % ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
