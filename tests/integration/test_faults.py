# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault suite: every way tests/faults.py can misbehave, through the lookup and the module in real playbooks.

Each case either succeeds (after retrying where a retry is right) or fails with one line that names the endpoint
and the cause, with no traceback, within the documented bound. Cases run as tasks of one playbook per front end
(ignore_errors), timed by Ansible's junit callback.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from faults import FaultServer, refused_url
from junit_report import TRACEBACK_ENV, TaskOutcome, escaped, read_report
from harness import make_tls_material

TIMEOUT, RETRIES, MAX_RETRY_WAIT = 1, 2, 1
BOUND = (RETRIES + 1) * TIMEOUT + RETRIES * MAX_RETRY_WAIT
# ansible-playbook's own time per task (a fork, the module shipped and started) on a busy 2-core machine.
# Beyond the bound, a case may take what a trivial task of the same front end takes in the same run (the floor,
# measured before and after the cases: Ansible's own work per task, which grows with the machine's load) and this.
OVERHEAD = 1.5
FLOORS = {"lookup": '      ansible.builtin.set_fact:\n        token: "{{ 42 }}"\n', "module": "      ansible.builtin.ping:\n"}
SECRET = "fault-secret-value-42"

# name: fault path ("refused" and "wrong_host" are not paths), https or not, and what the error says (None: success).
CASES: Dict[str, Tuple[str, bool, Optional[str]]] = {
    "refused": ("refused", False, r"is unreachable after 3 attempts: connection refused"),
    "hang": ("hang", False, r"did not (answer within 1 seconds after \d attempts|finish within 5 seconds)"),
    "drip": ("drip", False, r"did not finish within 5 seconds, the bound for one token"),
    "drip over https": ("drip", True, r"did not finish within 5 seconds, the bound for one token"),
    "header drip": ("header_drip", False, r"did not finish within 5 seconds, the bound for one token"),
    "header drip over https": ("header_drip", True, r"did not finish within 5 seconds, the bound for one token"),
    "slow TLS handshake": ("slow_handshake", True, r"did not (answer within 1 seconds after \d attempts|finish within 5 seconds)"),
    "500 then 200": ("flaky500", False, None),
    "502 then 200 over https": ("flaky502", True, None),
    "429 Retry-After 1 then 200": ("ratelimited", False, None),
    "503 Retry-After out of range then 200": ("retry_after_bad_date", False, None),
    "429 Retry-After 3600": ("retry_after_long", False, r"answered HTTP 429 and asks to retry after 3600 seconds, longer than max_retry_wait \(1\)"),
    "503 forever": ("unavailable", False, r"answered HTTP 503 after 3 attempts: the provider is unavailable or rate-limiting"),
    "html with 200": ("html", False, r"answered HTTP 200 with a body \(text/html, \d+ bytes\) instead of a JSON object"),
    "truncated body": ("truncated", False, r"closed the connection before a complete answer"),
    "invalid json": ("invalid_json", False, r"answered HTTP 200 with a body \(application/json, \d+ bytes\) instead of a JSON object"),
    "error in a 200": ("error_in_200", False, r"refused the request: HTTP 200 invalid_scope \(scope not allowed\)"),
    "no access_token": ("no_access_token", False, r"answered HTTP 200 without an access_token"),
    "no token_type": ("no_token_type", False, None),
    "DPoP token_type": ("dpop", False, r"issued a DPoP token without being asked for one: set dpop: true"),
    "no expires_in": ("no_expires_in", False, None),
    "negative expires_in": ("expires_negative", False, r"answered with expires_in -60, which is not a number of seconds"),
    "string expires_in": ("expires_string", False, r"answered with expires_in \"soon\", which is not a number of seconds"),
    "Infinity expires_in": ("expires_infinity", False, r"answered with expires_in Infinity, which is not a number of seconds"),
    "NaN expires_in": ("expires_nan", False, r"answered with expires_in NaN, which is not a number of seconds"),
    "1e300 expires_in": ("expires_huge", False, r"answered with expires_in 1e\+300, which is not a number of seconds"),
    "infinite exp claim": ("exp_infinite", False, r"issued a token whose exp claim is not a time"),
    "huge body": ("huge", False, r"answered with more than 1048576 bytes"),
    "gzip bomb": ("gzip_bomb", True, r"answered with more than 1048576 bytes"),
    "bad content encoding": ("bad_encoding", False, r"sent a body that does not decode as its Content-Encoding says"),
    "redirect": ("redirect", False, r"redirects \(HTTP 302\) to https://elsewhere.example/token: redirects are not followed"),
    "certificate for another host": ("wrong_host", True, r"failed TLS verification \(certificate verify failed: IP address mismatch"),
    "JSON nested 100000 deep": ("deep_json", False, r"answered HTTP 200 with JSON nested more than 32 levels deep \(\d+ bytes\)"),
}


@pytest.fixture(scope="module")
def fault_servers(tmp_path_factory):
    tls = make_tls_material(tmp_path_factory.mktemp("faults-tls"))
    with FaultServer() as plain, FaultServer(tls.cert_path, tls.key_path) as secure, \
            FaultServer(tls.wrong_host_cert_path, tls.wrong_host_key_path) as wrong_host:
        yield {"plain": plain, "secure": secure, "wrong_host": wrong_host, "ca_path": str(tls.ca_path), "tls": tls}


def case_url(servers, name: str, front_end: str) -> str:
    fault, https = CASES[name][:2]
    if fault == "refused":
        return refused_url()
    if fault == "wrong_host":
        return servers["wrong_host"].url("ok", front_end)
    return servers["secure" if https else "plain"].url(fault, front_end)


def options(url: str, ca_path: str) -> str:
    return ("token_url: %s\n        client_id: fault-client\n        client_secret: %s\n        ca_path: %s\n        timeout: %d\n"
            "        retries: %d\n        max_retry_wait: %d\n        cache: false\n" % (url, SECRET, ca_path, TIMEOUT, RETRIES, MAX_RETRY_WAIT))


def fault_playbook(servers, urls: Dict[Tuple[str, str], str]) -> str:
    lookups, modules = [], []
    for name in CASES:
        url = urls["lookup", name]
        lookups.append('    - name: "lookup: %s"\n      ansible.builtin.set_fact:\n        token: "{{ lookup(\'oauth2.client_credentials.token\', '
                       "token_url='%s', client_id='fault-client', client_secret='%s', ca_path='%s', timeout=%d, retries=%d, "
                       "max_retry_wait=%d, cache=false) }}\"\n      ignore_errors: true\n"
                       % (name, url, SECRET, servers["ca_path"], TIMEOUT, RETRIES, MAX_RETRY_WAIT))
        modules.append('    - name: "module: %s"\n      oauth2.client_credentials.token:\n        fact_name: ""\n        %s      ignore_errors: true\n'
                       % (name, options(urls["module", name], servers["ca_path"])))
    head = "- name: %s\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"

    def play(front_end: str, tasks: List[str]) -> str:
        floor = '    - name: "%s: floor %%s"\n%s' % (front_end, FLOORS[front_end])
        return head % front_end + floor % "before" + "".join(tasks) + floor % "after"

    return play("lookup", lookups) + play("module", modules)


def check(name: str, front_end: str, url: str, outcome: TaskOutcome, floor: float) -> List[str]:
    """What is wrong with one case's outcome, if anything."""
    expected = CASES[name][2]
    seconds, message = outcome.seconds, outcome.plugin_line
    problems = list(outcome.problems)
    if expected is None and outcome.failed:
        problems.append("failed: %s" % message)
    if expected is not None:
        ours = message[message.find(" endpoint "):]
        if not outcome.failed:
            problems.append("succeeded, expected an error matching %r" % expected)
        elif not re.search(expected, ours) or url not in ours:
            problems.append("message %r does not match %r as one line naming %s" % (message, expected, url))
    if seconds - floor > BOUND + OVERHEAD:
        problems.append("took %.1f s, more than the %d s bound (a trivial task took %.1f s)" % (seconds, BOUND, floor))
    if name.startswith("429 Retry-After 1") and seconds < 1:
        problems.append("took %.1f s: Retry-After: 1 was not honoured" % seconds)
    return ["%s: %s: %s" % (front_end, name, problem) for problem in problems]


def test_fault_suite(ansible, fault_servers, tmp_path, capsys):
    reports = tmp_path / "junit"
    urls = {(front_end, name): case_url(fault_servers, name, front_end) for front_end in ("lookup", "module") for name in CASES}
    run = ansible.playbook(fault_playbook(fault_servers, urls), env=dict(TRACEBACK_ENV, JUNIT_OUTPUT_DIR=str(reports)))
    assert run.returncode == 0, run.output
    results = read_report(reports, TaskOutcome)
    missing = TaskOutcome(0.0, True, problems=["no result in the junit report"])
    problems: List[str] = []
    tried = passed = 0
    for front_end in ("lookup", "module"):
        floor = max(results.get("%s: floor %s" % (front_end, when), TaskOutcome(0.0, False)).seconds for when in ("before", "after"))
        for name in CASES:
            tried += 1
            found = check(name, front_end, urls[front_end, name], results.get("%s: %s" % (front_end, name), missing), floor)
            passed += not found
            problems += found
    with capsys.disabled():
        print("\nfault suite: %d cases ran, %d passed (bound %d s, slowest case %.1f s)"
              % (tried, passed, BOUND, max(result.seconds for result in results.values())))
    assert not problems, "\n".join(problems)
    assert escaped(run.everything) == [], "a Python error escaped a plugin"
    ansible.assert_no_secrets(run, SECRET)


def test_each_retry_shows_at_vvv_without_secrets(ansible, fault_servers):
    """The lookup through its display, the module through its action plugin's: one line per retry, no secret."""
    servers = {"lookup": fault_servers["plain"].url("flaky500", "vvv-lookup"), "module": fault_servers["plain"].url("flaky500", "vvv-module")}
    run = ansible.playbook("""- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        token: "{{ lookup('oauth2.client_credentials.token', token_url='%s', client_id='fault-client', client_secret='%s', cache=false) }}"
    - oauth2.client_credentials.token:
        %s""" % (servers["lookup"], SECRET, options(servers["module"], fault_servers["ca_path"])), "-vvv")
    assert run.returncode == 0, run.output
    for url in servers.values():
        assert re.search(r"Token endpoint %s: attempt 1 failed \(HTTP 500\), retrying in \d+\.\d s" % re.escape(url), run.output), run.output
    ansible.assert_no_secrets(run, SECRET)
    default = ansible.playbook("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - oauth2.client_credentials.token:\n        %s"
                               % options(fault_servers["plain"].url("flaky500", "quiet"), fault_servers["ca_path"]))
    assert default.returncode == 0 and "retrying" not in default.output


def module_processes(directory: Path) -> list:
    """The pids of token modules run from ANSIBLE_REMOTE_TMP under directory, as the local connection starts them."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and str(directory) in command and "AnsiballZ_token" in command:
            found.append(int(entry.name))
    return found


@contextlib.contextmanager
def requesting(ansible, playbook: str, server: FaultServer, path: str, env: Dict[str, str]) -> Iterator[subprocess.Popen]:
    """A playbook run, handed over once server has its request to path; killed with its process group if it outlives the block."""
    run = ansible.start_playbook(playbook, ansible.directory / "output.txt", env=env)
    try:
        deadline = time.monotonic() + 30
        while server.requests[path] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.requests[path] == 1, "the request never started: %s" % (ansible.directory / "output.txt").read_text()
        yield run
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def test_a_module_that_outlives_its_task_timeout_ends_at_its_own_bound(ansible, fault_servers):
    """A task timeout fails the task but leaves the module's process running: its own bound (8 s here) must end it."""
    module_bound, task_timeout = 8, 3
    playbook = """- hosts: localhost
  gather_facts: false
  tasks:
    - oauth2.client_credentials.token:
        token_url: %s
        client_id: fault-client
        client_secret: %s
        timeout: %d
        retries: 0
        cache: false
      timeout: %d
""" % (fault_servers["plain"].url("header_drip", "task-timeout"), SECRET, module_bound, task_timeout)
    with requesting(ansible, playbook, fault_servers["plain"], "/header_drip/task-timeout",
                    {"ANSIBLE_REMOTE_TMP": str(ansible.directory / "remote-tmp")}) as run:
        asked = time.monotonic()
        run.wait(timeout=30)
    output = (ansible.directory / "output.txt").read_text()
    assert run.returncode == 2 and re.search(r"time frame \(%d\)|Timed out after %d second" % (task_timeout, task_timeout), output), output
    assert module_processes(ansible.directory), "the module should still run when its task has timed out, or this test shows nothing"
    while module_processes(ansible.directory) and time.monotonic() < asked + module_bound + OVERHEAD:
        time.sleep(0.2)
    assert module_processes(ansible.directory) == [], "the module ran past its own bound"
    assert SECRET not in output


def test_a_jwt_client_that_meets_one_503_gets_its_token_on_the_retry(ansible):
    """The provider used up the first assertion (its jti) before the 503: the retry must send an assertion of its own."""
    shutil.copy(ansible.provider.client_keys["rsa"], ansible.directory / "client.pem")
    ansible.provider.fail_next_token_request(ansible.provider.clients["private_key"]["client_id"], 503)
    run = ansible.playbook("""- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        token: "{{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, client_id=private_key_client_id,
                          private_key=lookup('ansible.builtin.file', 'client.pem'), private_key_id='rsa', retries=1, max_retry_wait=1,
                          cache=false) }}"
      no_log: true
""", "-vvv")
    assert run.returncode == 0, run.output
    assert re.search(r"Token endpoint \S+: attempt 1 failed \(HTTP 503\), retrying in", run.output), run.output
    assert ansible.provider.token_requests() == 2 and len(ansible.provider.issued_tokens()) == 1
    ansible.assert_no_secrets(run)


@pytest.mark.parametrize("ending", ["SIGTERM", "SIGINT", "task timeout"])
def test_a_run_ended_during_a_request_leaves_no_client_key_file(ansible, fault_servers, ending):
    """A vault-encrypted client_key reaches the request as text; however the run ends mid-request, no plaintext key is left."""
    tls = fault_servers["tls"]
    ansible.vault("encrypt", str(ansible.write("files/client-key.pem", tls.client_key_path.read_text())))
    temporary = ansible.directory / "tmp"
    temporary.mkdir()
    tag = "client-key-" + ending.replace(" ", "-")
    playbook = """- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        token: "{{ lookup('oauth2.client_credentials.token', token_url='%s', client_id='fault-client', ca_path='%s', client_cert='%s',
                          client_key='client-key.pem', timeout=10, retries=0, cache=false) }}"
      timeout: %d
""" % (fault_servers["secure"].url("hang", tag), fault_servers["ca_path"], tls.client_cert_path, 2 if ending == "task timeout" else 60)
    with requesting(ansible, playbook, fault_servers["secure"], "/hang/" + tag, {"TMPDIR": str(temporary)}) as run:
        if ending == "SIGTERM":
            run.terminate()  # as kill or a CI runner's timeout does: the ansible-playbook process only
        elif ending == "SIGINT":
            os.killpg(run.pid, signal.SIGINT)  # as Ctrl-C does: the whole foreground process group
        run.wait(timeout=30)
        # Checked as soon as the run has ended for its user: a worker it left behind may still be in the request.
        left = list(temporary.rglob("oauth2-client-key-*"))
    output = (ansible.directory / "output.txt").read_text()
    assert left == [], output
    assert not any(line in output for line in tls.client_key_path.read_text().splitlines()[1:-1])
