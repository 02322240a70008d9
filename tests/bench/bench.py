#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""make bench: token requests and wall time of real ansible-playbook plays against the local provider.

Each approach runs the same play shape (HOSTS local hosts, TASKS tasks that each use the token, FORKS
forks); the provider counts the token requests it answers. Raw figures go to .build/bench/results.json.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from harness import Provider, install_collection  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
WORK = REPO / ".build" / "bench"
HOSTS, TASKS, FORKS, BURST = 100, 5, 20, 50
# The realistic play: hosts that each call the protected API a few times, where the tasks' own work dominates.
API_HOSTS, API_CALLS = 50, 2
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
LOOKUP_CALLS = 500


def use_token(expression: str) -> str:
    """TASKS tasks that each template the token, the part every approach shares."""
    return "".join('    - name: Use the token (%d)\n      ansible.builtin.debug:\n        msg: "{{ %s | length }}"\n' % (n, expression)
                   for n in range(1, TASKS + 1))


PLAYS = {
    "noop": "- hosts: all\n  gather_facts: false\n  tasks:\n" + use_token("'static-token-of-some-length'"),
    "lookup": "- hosts: all\n  gather_facts: false\n  tasks:\n" + use_token("lookup('oauth2.client_credentials.token')"),
    "env-lookup": "- hosts: all\n  gather_facts: false\n  tasks:\n" + use_token("lookup('ansible.builtin.env', 'HOME')"),
    "uri": """- hosts: all
  gather_facts: false
  tasks:
    - name: Ask the token endpoint, the hand-rolled way
      ansible.builtin.uri:
        url: "{{ oauth2_token_url }}"
        method: POST
        ca_path: "{{ oauth2_ca_path }}"
        body_format: form-urlencoded
        body: {grant_type: client_credentials}
        url_username: "{{ oauth2_client_id }}"
        url_password: "{{ oauth2_client_secret }}"
        force_basic_auth: true
      register: token_response
      no_log: true
    - ansible.builtin.set_fact:
        token: "{{ token_response.json.access_token }}"
      no_log: true
""" + use_token("token"),
    "module": """- hosts: all
  gather_facts: false
  tasks:
    - name: One token for the play
      oauth2.client_credentials.token: {}
      run_once: true
      delegate_to: localhost
""" + use_token("oauth2_token.access_token"),
}


def call_api(header: str) -> str:
    """API_CALLS tasks that call the protected API with the given Authorization header expression."""
    return "".join(
        '    - name: Call the protected API (%d)\n      ansible.builtin.uri:\n        url: "{{ api_url }}"\n'
        '        ca_path: "{{ oauth2_ca_path }}"\n        headers:\n          Authorization: "{{ %s }}"\n      no_log: true\n'
        % (n, header) for n in range(1, API_CALLS + 1))


API_PLAYS = {
    "api-lookup": "- hosts: all\n  gather_facts: false\n  tasks:\n" + call_api("lookup('oauth2.client_credentials.token', output='header')"),
    "api-role": "- hosts: all\n  gather_facts: false\n  roles:\n    - oauth2.client_credentials.api_token\n  tasks:\n"
                + call_api("oauth2_token.authorization"),
}

WARM_LOOKUP = """
import json, sys, time
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.template import Templar
init_plugin_loader([sys.argv[1]])
calls, variables = int(sys.argv[2]), json.loads(sys.argv[3])
loader = DataLoader()
lookup = lookup_loader.get("oauth2.client_credentials.token", loader=loader, templar=Templar(loader=loader))
lookup.run([], variables=variables)
start = time.perf_counter()
for _call in range(calls):
    lookup.run([], variables=variables)
print((time.perf_counter() - start) / calls * 1000)
"""


class Bench:
    def __init__(self, provider: Provider, collections: Path) -> None:
        self.provider = provider
        client = provider.clients["basic"]
        self.variables = {"oauth2_token_url": provider.token_url, "oauth2_ca_path": str(provider.ca_path),
                          "oauth2_client_id": client["client_id"], "oauth2_client_secret": client["client_secret"]}
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        self.env.update(
            HOME=str(WORK / "home"), ANSIBLE_HOME=str(WORK / "home" / ".ansible"), ANSIBLE_COLLECTIONS_PATH=str(collections),
            ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1",
        )
        for name, text in dict(PLAYS, **API_PLAYS).items():
            (WORK / (name + ".yml")).write_text(text)
        host_variables = dict(self.variables, api_url=provider.api_url)
        for hosts in (HOSTS, BURST, API_HOSTS):
            lines = ["host%03d ansible_connection=local" % n for n in range(1, hosts + 1)]
            (WORK / ("inventory-%d.ini" % hosts)).write_text("[all:vars]\n%s\n[app]\n%s\n" % (
                "\n".join("%s=%s" % pair for pair in host_variables.items()), "\n".join(lines)))

    def clear_cache(self) -> None:
        shutil.rmtree(WORK / "home" / ".ansible" / "oauth2_client_credentials", ignore_errors=True)

    def play(self, name: str, hosts: int = HOSTS, forks: int = FORKS, *extra: str) -> Dict[str, float]:
        self.provider.reset()
        command = [str(BIN / "ansible-playbook"), str(WORK / (name + ".yml")), "-i", str(WORK / ("inventory-%d.ini" % hosts)),
                   "--forks", str(forks), *extra]
        started = time.monotonic()
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        if result.returncode != 0:
            sys.exit("bench: %s failed:\n%s" % (name, result.stdout[-3000:] + result.stderr[-3000:]))
        return {"seconds": seconds, "token_requests": self.provider.token_requests()}

    def warm_lookup_ms(self) -> float:
        result = subprocess.run([sys.executable, "-c", WARM_LOOKUP, self.env["ANSIBLE_COLLECTIONS_PATH"], str(LOOKUP_CALLS),
                                 json.dumps(self.variables)],
                                env=self.env, capture_output=True, text=True, check=True)
        return float(result.stdout.strip().splitlines()[-1])


def median_row(runs: List[Dict[str, float]]) -> Dict[str, object]:
    return {"seconds": statistics.median(run["seconds"] for run in runs), "token_requests": [run["token_requests"] for run in runs],
            "runs": runs}


def requests_shown(row: Dict[str, object]) -> str:
    """The token requests of each run, once when they agree."""
    requests = row["token_requests"]
    return str(requests[0]) if len(set(requests)) == 1 else " / ".join(map(str, requests))


def main() -> int:
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    collections = install_collection(WORK, BIN)
    with Provider(WORK / "provider") as provider:
        bench = Bench(provider, collections)
        rows: Dict[str, Dict[str, object]] = {}
        rows["no-op play (floor)"] = median_row([bench.play("noop") for _run in range(REPEATS)])
        cold, warm = [], []
        for _run in range(REPEATS):
            bench.clear_cache()
            cold.append(bench.play("lookup"))
            warm.append(bench.play("lookup"))
        rows["lookup, cache cold"] = median_row(cold)
        rows["lookup, cache warm (second run)"] = median_row(warm)
        rows["reference: ansible.builtin.env lookup, no token"] = median_row([bench.play("env-lookup")])
        rows["lookup, cache: false"] = median_row([bench.play("lookup", HOSTS, FORKS, "-e", "oauth2_cache=false")])
        rows["hand-rolled uri + set_fact"] = median_row([bench.play("uri")])
        bench.clear_cache()
        rows["module, run_once + delegate_to"] = median_row([bench.play("module")])
        burst = []
        for _run in range(REPEATS):
            bench.clear_cache()
            burst.append(bench.play("lookup", BURST, BURST))
        rows["burst: lookup, %d forks, cache cold" % BURST] = median_row(burst)
        api: Dict[str, List[Dict[str, float]]] = {"api-lookup": [], "api-role": []}
        for _run in range(REPEATS):
            for name, runs in api.items():
                bench.clear_cache()
                runs.append(bench.play(name, API_HOSTS))
        api_rows = {"lookup in every call": median_row(api["api-lookup"]), "api_token role, once": median_row(api["api-role"])}
        warm_ms = bench.warm_lookup_ms()

    floor = rows["no-op play (floor)"]["seconds"]
    machine = "%s, %d cores, Python %s" % (platform.platform(terse=True), os.cpu_count() or 0, platform.python_version())
    print("\n%d hosts x %d tasks using the token, forks %d (burst: %d hosts, %d forks); median of %d runs where repeated"
          % (HOSTS, TASKS, FORKS, BURST, BURST, REPEATS))
    print("machine: %s\n" % machine)
    print("| approach | token requests | wall time | vs no-op |")
    print("| --- | --- | --- | --- |")
    for name, row in rows.items():
        ratio = "%.2fx" % (row["seconds"] / floor) if not name.startswith("burst") else "(other shape)"
        print("| %s | %s | %.1f s | %s |" % (name, requests_shown(row), row["seconds"], ratio))
    print("\nThe realistic play: %d hosts each calling the protected API %d times (ansible.builtin.uri), cache cold, forks %d"
          % (API_HOSTS, API_CALLS, FORKS))
    print("\n| approach | token requests | wall time | vs the role |")
    print("| --- | --- | --- | --- |")
    for name, row in api_rows.items():
        print("| %s | %s | %.1f s | %.2fx |" % (name, requests_shown(row), row["seconds"], row["seconds"] / api_rows["api_token role, once"]["seconds"]))
    print("\nwarm-cache lookup call in-process: %.2f ms (mean of %d calls)" % (warm_ms, LOOKUP_CALLS))
    (WORK / "results.json").write_text(json.dumps({"machine": machine, "rows": rows, "realistic_play": api_rows, "warm_lookup_ms": warm_ms},
                                                  indent=2))
    print("raw figures: %s" % (WORK / "results.json").relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
