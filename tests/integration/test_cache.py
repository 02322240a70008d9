# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache in real plays: one request per credential set across hosts, forks and runs, renewal of
short-lived tokens, and a broken cache that only costs a warning."""

from __future__ import annotations

import math
import os
import time

INVENTORY = "[app]\n" + "\n".join("host%02d ansible_connection=local" % n for n in range(1, 21)) + "\n"

LOOKUP_TWICE = """
- hosts: app
  gather_facts: false
  tasks:
    - name: Use a token from the lookup, twice per host
      ansible.builtin.debug:
        msg: "token of {{ lookup('oauth2.client_credentials.token') | length }} characters"
      loop: [1, 2]
"""


def configure(ansible, client="basic"):
    entry = ansible.provider.clients[client]
    ansible.write("inventory.ini", INVENTORY)
    ansible.write("group_vars/all/oauth2.yml", "oauth2_token_url: %s\noauth2_ca_path: %s\noauth2_client_id: %s\n%s" % (
        ansible.provider.token_url, ansible.provider.ca_path, entry["client_id"],
        ansible.encrypt_string(entry["client_secret"], "oauth2_client_secret")))


CALL_API_TWICE = """
- hosts: app
  gather_facts: false
  tasks:
    - name: Call the API with a token from the lookup, twice per host
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
      loop: [1, 2]
      no_log: true
"""


def test_one_request_for_twenty_hosts_and_none_on_the_next_run(ansible):
    configure(ansible)
    first = ansible.playbook(CALL_API_TWICE, "-i", "inventory.ini", "--forks", "10")
    assert first.returncode == 0, first.output
    assert ansible.provider.token_requests() == 1
    assert ansible.provider.api_stats() == {"calls": 40, "rejected": 0}
    second = ansible.playbook(LOOKUP_TWICE, "-i", "inventory.ini", "--forks", "10")
    assert second.returncode == 0, second.output
    assert ansible.provider.token_requests() == 1
    cache = ansible.directory / ".ansible" / "oauth2_client_credentials" / "cache"
    assert oct(os.stat(cache).st_mode & 0o777) == "0o700"
    ansible.assert_no_secrets(second)


def test_cache_false_asks_every_time(ansible):
    configure(ansible)
    run = ansible.playbook(LOOKUP_TWICE, "-i", "inventory.ini", "--forks", "10", "-e", "oauth2_cache=false")
    assert run.returncode == 0, run.output
    assert ansible.provider.token_requests() == 40


def test_five_second_tokens_are_renewed_and_never_sent_expired(ansible):
    configure(ansible, "shortlived")
    started = time.monotonic()
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Call the API every 1.2 s for about three token lifetimes
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
      loop: "{{ range(13) | list }}"
      loop_control:
        pause: 1.2
      no_log: true
""", "-i", "inventory.ini", "-e", "oauth2_refresh_margin=2")
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.output
    assert ansible.provider.api_stats() == {"calls": 13, "rejected": 0}
    # A 2 s margin leaves the uri task time to reach the API with a live token even on a loaded machine (the default,
    # 0.5 s for 5 s tokens, does not). A 5 s token is then reused for 2 to 3 s (whole-second expiry counted from before
    # the request), so the play needs one token per started 2 s and at least three in its ~16 s of calls.
    assert 3 <= ansible.provider.token_requests() <= math.ceil(elapsed / 2)


def test_an_unsafe_cache_directory_costs_a_warning_not_the_play(ansible):
    configure(ansible)
    cache = ansible.directory / "shared-cache"
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    run = ansible.playbook(LOOKUP_TWICE, "-i", "inventory.ini", "--forks", "10", "-e", "oauth2_cache_dir=" + str(cache))
    assert run.returncode == 0, run.output
    assert ansible.provider.token_requests() == 40
    warning = "[WARNING]: Token cache not used: the token cache directory %s must be owned by this user with mode 0700" % cache
    unwrapped = "".join(run.output.split())  # older ansible-core wraps warnings, even inside long paths
    assert unwrapped.count("".join(warning.split())) == 1, "one warning, not one per fork"
    assert os.listdir(cache) == []
