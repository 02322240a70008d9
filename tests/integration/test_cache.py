# SPDX-License-Identifier: GPL-3.0-or-later
"""The token cache in real plays: one request per credential set across hosts, forks and runs, renewal of
short-lived tokens, and a broken cache that only costs a warning."""

from __future__ import annotations

import math
import os
import re

from cryptography.hazmat.primitives import serialization

from harness import make_tls_material

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


# The renewal play's structure, from which its token requests are bounded: one host, CALLS loop items PAUSE seconds apart,
# each using the token twice while templating its task, with tokens of the shortlived client (LIFETIME) reused down to MARGIN.
CALLS, PAUSE, LIFETIME, MARGIN = 13, 1.2, 5, 2


def test_five_second_tokens_are_renewed_and_never_sent_expired(ansible):
    configure(ansible, "shortlived")
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Call the API every %(pause)g s for about three token lifetimes, the token in two headers
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
          X-Token-Length: "{{ lookup('oauth2.client_credentials.token') | length }}"
      loop: "{{ range(%(calls)d) | list }}"
      loop_control:
        pause: %(pause)g
      no_log: true
""" % {"calls": CALLS, "pause": PAUSE}, "-i", "inventory.ini", "-e", "oauth2_refresh_margin=%d" % MARGIN)
    assert run.returncode == 0, run.output
    assert ansible.provider.api_stats() == {"calls": CALLS, "rejected": 0}
    # A 2 s margin leaves the uri task time to reach the API with a live token even on a loaded machine (the default,
    # 0.5 s for 5 s tokens, does not). A token is handed out for at most LIFETIME - MARGIN seconds from before its
    # request, and calls are at least PAUSE apart, so one token serves at most 3 calls: at least 5 requests, however fast
    # the machine. However slow it is, the second use in a call finds the token the first one just cached: at most
    # one request per call, where a disabled cache sends two.
    at_least = math.ceil(CALLS / (math.floor((LIFETIME - MARGIN) / PAUSE) + 1))
    assert at_least <= ansible.provider.token_requests() <= CALLS


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


STRICTER_REQUESTS = """
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  vars:
    oauth2_token_url: "{{ token_url }}"
    pk: {token_url: "{{ token_url }}", ca_path: "{{ ca_path }}", client_id: "{{ private_key_client_id }}", private_key_path: client-key.pem,
         private_key_id: rsa}
    mtls: {token_url: "{{ token_url }}", ca_path: "{{ ca_path }}", client_id: "{{ mtls_client_id }}", client_key: "{{ client_key_path }}",
           auth_method: tls_client_auth}
  tasks:
    - name: A token obtained without verifying the provider's certificate, and cached
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', validate_certs=false) | length }}"
    - name: Tokens obtained with an encrypted private key and with a client certificate, and cached
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', private_key_passphrase='right-passphrase', **pk) | length }}
              {{ lookup('oauth2.client_credentials.token', client_cert=client_cert_path, **mtls) | length }}"
    - name: "module: trusting only a CA that did not issue the provider's certificate"
      oauth2.client_credentials.token:
        ca_path: "%(other_ca)s"
        fact_name: ""
      ignore_errors: true
"""
TLS_REFUSED = r"Token endpoint https://127\.0\.0\.1:\d+/token failed TLS verification \(certificate verify failed"
# Each request again, as a fresh one would fail: the lookup's arguments, and the error line a fresh request gives.
STRICTER = {
    "lookup: trusting only a CA that did not issue the provider's certificate": ("ca_path='%(other_ca)s'", TLS_REFUSED),
    "lookup: a wrong passphrase": ("private_key_passphrase='wrong-passphrase', **pk",
                                   r"private_key is not a PEM private key, or private_key_passphrase does not open it"),
    "lookup: an algorithm the key cannot make": ("private_key_passphrase='right-passphrase', client_assertion_algorithm='ES256', **pk",
                                                 r"client_assertion_algorithm ES256 does not fit the RSA private_key"),
    "lookup: a certificate that does not match its key": ("client_cert='%(server_cert)s', **mtls",
                                                          r"client_cert cannot be presented .* \(the key does not belong to the certificate\)"),
}


def test_a_cached_token_goes_only_to_a_request_as_strict_as_the_one_that_obtained_it(ansible, tmp_path):
    """A cache hit makes no check a fresh request would skip: the CA trusted, the key and its passphrase, the assertion's
    algorithm and the client certificate all decide which entry is used."""
    ansible.write_vaulted_variables()
    key = serialization.load_pem_private_key(ansible.provider.client_keys["rsa"].read_bytes(), None)
    ansible.write("files/client-key.pem", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.BestAvailableEncryption(b"right-passphrase")).decode())
    tasks = "".join('    - name: "%s"\n      ansible.builtin.debug:\n        msg: "{{ lookup(\'oauth2.client_credentials.token\', %s) }}"\n'
                    "      ignore_errors: true\n" % (name, arguments) for name, (arguments, _line) in STRICTER.items())
    files = {"other_ca": make_tls_material(tmp_path / "other-tls").ca_path, "server_cert": ansible.provider.tls.cert_path}
    run = ansible.playbook((STRICTER_REQUESTS + tasks) % files)
    assert run.returncode == 0, run.output
    printed = dict(re.findall(r"TASK \[(.*?)\] \**\n(.*?)(?=\nTASK \[|\nPLAY RECAP)", run.output, re.S))
    expected = {name: line for name, (_arguments, line) in STRICTER.items()}
    expected["module: trusting only a CA that did not issue the provider's certificate"] = TLS_REFUSED
    for name, line in expected.items():
        assert re.search("fatal: .*" + line, printed[name]) and "...ignoring" in printed[name], (name, run.output)
    assert ansible.provider.token_requests() == 3, "one for each cached token, none for the requests that fail"
    assert "Traceback" not in run.output
    ansible.assert_no_secrets(run, "right-passphrase", "wrong-passphrase")


def test_the_cache_lives_in_ansible_home_and_vvv_says_where_each_token_came_from(ansible):
    """ansible.cfg's home moves Ansible's state, the token cache with it; -vvv tells a cached token from a new one."""
    configure(ansible)
    home = ansible.directory / "ansible-home"
    ansible.write("ansible.cfg", "[defaults]\nhome = %s\n" % home)
    del ansible.env["ANSIBLE_HOME"]
    run = ansible.playbook(LOOKUP_TWICE, "-i", "inventory.ini", "--forks", "5", "-vvv")
    assert run.returncode == 0, run.output
    lines = re.findall(r"^Token for client_id (\S+) (obtained from|from) the token (?:endpoint |cache \()(\S+?)\)?[,.] (.*)$", run.output, re.M)
    assert len(lines) == 40, run.output
    assert [line[1] for line in lines].count("obtained from") == 1 == ansible.provider.token_requests()
    assert {(line[0], line[2]) for line in lines} == {(ansible.provider.clients["basic"]["client_id"], ansible.provider.token_url)}
    assert all(re.match(r"expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d+ s\)", line[3]) for line in lines)
    assert "a cached token exercised no TLS setting or credential" in run.output
    assert list((home / "oauth2_client_credentials" / "cache").iterdir()), "the cache is under ansible.cfg's home"
    assert not (ansible.directory / ".ansible" / "oauth2_client_credentials").exists()
    assert run.tokens() == set()
