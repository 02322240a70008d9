# SPDX-License-Identifier: GPL-3.0-or-later
"""The token module, the api_token role and the playbooks, in real playbooks against the real provider."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from harness import TIMEZONES

# The module's Python on targets: the oldest make tests (OAUTH2_TEST_TARGET_PYTHON), else the controller's.
TARGET_PYTHON = os.environ.get("OAUTH2_TEST_TARGET_PYTHON") or sys.executable


def test_module_facts_on_several_hosts_with_one_request(ansible):
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    run = ansible.playbook("""
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - name: One token for all hosts
      oauth2.client_credentials.token:
        issuer: "{{ issuer }}"
        ca_path: "{{ ca_path }}"
        scope: [read]
      run_once: true
      delegate_to: localhost
    - name: Every host calls the API with it
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ ansible_facts.oauth2_token.authorization }}"
      register: answer
      no_log: true
    - ansible.builtin.debug:
        msg: "{{ inventory_hostname }} got {{ answer.status }} as {{ answer.json.client_id }} scope {{ ansible_facts.oauth2_token.scope }}"
""", "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    for host in ("host1", "host2", "host3", "host4"):
        assert "%s got 200 as cc-basic-client scope read" % host in run.output
    assert ansible.provider.token_requests() == 1
    assert ansible.provider.api_stats() == {"calls": 4, "rejected": 0}
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)


def test_register_check_mode_and_module_defaults_group(ansible):
    entry = ansible.provider.clients["post"]
    creds = ansible.write("files/creds.vault.yml", "client_id: %s\nclient_secret: %s\n" % (entry["client_id"], entry["client_secret"]))
    ansible.vault("encrypt", str(creds))
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/oauth2.client_credentials.oauth2:
      token_url: "{{ token_url }}"
      ca_path: "{{ ca_path }}"
      credentials_file: creds.vault.yml
      auth_method: client_secret_post
  tasks:
    - oauth2.client_credentials.token:
        scope: read write
        fact_name: ""
      register: registered
    - ansible.builtin.assert:
        that:
          - registered is not changed
          - registered.token.scope == 'read write'
          - registered.token.authorization == 'Bearer ' ~ registered.token.access_token
          - registered.token.claims.client_id == post_client_id
          # expiry counts from before the request: at most one second earlier than the token's own exp
          - registered.token.claims.exp - 1 <= registered.token.expires_at <= registered.token.claims.exp
          - registered.ansible_facts is not defined or registered.ansible_facts == {}
          - oauth2_token is not defined
        quiet: true
""", "--check", "--diff")
    assert run.returncode == 0, run.output
    assert ansible.provider.token_requests() == 1
    ansible.assert_no_secrets(run)


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_role_sets_a_non_persistent_fact_on_every_host(ansible, timezone):
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    cache = ansible.directory / "fact-cache"
    run = ansible.playbook("""
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    api_token_fact_name: api_token
  roles:
    - oauth2.client_credentials.api_token
  tasks:
    - ansible.builtin.assert:
        that:
          - api_token.claims.client_id == basic_client_id
          - api_token.expires_in == 600
        quiet: true
    - name: A 600 s token cannot last 700 s, in any time zone
      block:
        - ansible.builtin.include_role:
            name: oauth2.client_credentials.api_token
          vars:
            api_token_min_ttl: 700
        - ansible.builtin.fail:
            msg: the role accepted a token that expires too soon
      rescue:
        - ansible.builtin.assert:
            that:
              - "'expires within 700 seconds' in ansible_failed_result.msg"
              - "'lower api_token_min_ttl' in ansible_failed_result.msg"
            quiet: true
""", "-i", "inventory.ini", env={"ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache)})
    assert run.returncode == 0, run.output
    assert run.output.count("rescued=1") == 4 and "failed=0" in run.output and "failed=1" not in run.output
    # The second inclusion asks for 710 s left, which no cached 600 s token has: one more request.
    assert ansible.provider.token_requests() == 2
    assert run.tokens() == set()
    cached = "".join(path.read_text() for path in cache.glob("*")) if cache.exists() else ""
    assert "access_token" not in cached and not re.search(r"eyJ[\w-]+\.eyJ", cached)
    ansible.assert_no_secrets(run)


@pytest.mark.parametrize("timezone", TIMEZONES)
def test_playbooks_by_fqcn(ansible, timezone):
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    common = ("-i", "inventory.ini", "-e", "@vault_creds.yml", "-e", "oauth2_issuer=" + ansible.provider.issuer,
              "-e", "oauth2_ca_path=" + str(ansible.provider.ca_path), "-e", "oauth2_scope=read")
    described = ansible.playbook_fqcn("oauth2.client_credentials.get_token", *common)
    assert described.returncode == 0, described.output
    assert "(discovered)" in described.output and '"granted_scope": "read"' in described.output
    assert re.search(r'"expires_at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', described.output)
    assert '"client_id": "cc-basic-client"' in described.output
    assert described.tokens() == set()
    ansible.assert_no_secrets(described)

    called = ansible.playbook_fqcn("oauth2.client_credentials.call_api", *common,
                                   "-e", "api_url=" + ansible.provider.api_url, "-e", "api_ca_path=" + str(ansible.provider.ca_path))
    assert called.returncode == 0, called.output
    for host in ("host1", "host2", "host3", "host4"):
        assert re.search(r'ok: \[%s\] => \{\s+"msg": \[\s+"HTTP 200 from %s",\s+\{\s+"aud": "https://api.test/",\s+"client_id": "cc-basic-client"'
                         % (host, re.escape(ansible.provider.api_url)), called.output), called.output
    assert ansible.provider.token_requests() == 1, "the second playbook reuses the first one's cached token"
    assert called.tokens() == set()
    ansible.assert_no_secrets(called)

    checked = ansible.playbook_fqcn("oauth2.client_credentials.call_api", *common, "--check",
                                    "-e", "api_url=" + ansible.provider.api_url, "-e", "api_ca_path=" + str(ansible.provider.ca_path))
    assert checked.returncode == 0, checked.output
    assert checked.output.count('"HTTP 200 from %s"' % ansible.provider.api_url) == 4, checked.output


def test_wrong_secret_fails_with_invalid_client_in_msg(ansible):
    wrong = "Wrong-" + ansible.secret("basic")
    ansible.write("secrets.yml", ansible.encrypt_string(wrong, "oauth2_client_secret"))
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - oauth2.client_credentials.token:
        issuer: "{{ issuer }}"
        ca_path: "{{ ca_path }}"
        client_id: "{{ basic_client_id }}"
""", "-vvvv")
    assert run.returncode == 2
    assert re.search(r'"msg": "Token endpoint https://127.0.0.1:\d+/token refused the request: HTTP 401 invalid_client', run.output)
    ansible.assert_no_secrets(run, wrong)


def test_secret_and_token_never_shown_at_maximum_verbosity(ansible):
    ansible.write_vaulted_variables()
    token_file = ansible.directory / "token.txt"
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
      register: registered
    - ansible.builtin.copy:
        content: "{{ ansible_facts.oauth2_token.access_token }}"
        dest: "%s"
        mode: "0600"
      no_log: true
""" % token_file, "-vvvv")
    assert run.returncode == 0, run.output
    token = token_file.read_text()
    assert token.count(".") == 2 and token == token.strip()
    assert token not in run.everything and token.split(".")[1] not in run.everything
    assert "the output has been hidden" in run.output
    ansible.assert_no_secrets(run)


def test_without_its_libraries_where_it_runs_the_module_names_them_in_one_line(ansible, tmp_path):
    """A Python with none of requests, PyJWT and cryptography: a virtualenv of the target Python made now, with no packages."""
    bare = tmp_path / "bare"
    subprocess.run([TARGET_PYTHON, "-m", "venv", "--without-pip", str(bare)], check=True)
    ansible.write("inventory.ini", "bare ansible_connection=local ansible_python_interpreter=%s\n" % (bare / "bin" / "python"))
    ansible.write_vaulted_variables()
    run = ansible.playbook("""
- hosts: bare
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        fact_name: ""
      register: refused
      ignore_errors: true
    - ansible.builtin.debug:
        msg: "refused: {{ refused.msg }}"
""", "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    shown = re.findall(r'"msg": "refused: (.*)"', run.output)
    assert len(shown) == 1 and shown[0].startswith("Failed to import the required Python library (requests and PyJWT and cryptography) on "), run.output
    assert "\\n" not in shown[0] and "Traceback" not in run.output
    assert ansible.provider.token_requests() == 0
    ansible.assert_no_secrets(run)


def test_module_doc_is_complete(ansible):
    result = ansible.command(["ansible-doc", "oauth2.client_credentials.token"])
    assert result.returncode == 0, result.stderr
    for text in ("fact_name", "credentials_file", "run_once", "module_defaults", "register", "ansible-vault encrypt",
                 "group/oauth2.client_credentials.oauth2", "RETURN VALUES"):
        assert text in result.stdout, text


def test_the_role_shows_why_it_failed(ansible):
    """The role's module tasks are not no_log: a refused client says so, on every line, with no secret and no token."""
    wrong = "Wrong-" + ansible.secret("basic")
    ansible.write("secrets.yml", ansible.encrypt_string(wrong, "oauth2_client_secret"))
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ basic_client_id }}"
  roles:
    - oauth2.client_credentials.api_token
""", "-vvv")
    assert run.returncode == 2
    assert "the output has been hidden" not in run.output
    assert re.search(r"Token endpoint https://127.0.0.1:\d+/token refused the request: HTTP 401 invalid_client", run.output), run.output
    assert ansible.provider.token_requests() == 1
    ansible.assert_no_secrets(run, wrong)


def test_call_api_without_api_url_says_so_before_any_token_request(ansible):
    """The test runs always define api_url (provider.json): an empty one stands for the one a user forgot."""
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    run = ansible.playbook_fqcn("oauth2.client_credentials.call_api", "-i", "inventory.ini", "-e", "@vault_creds.yml", "-e", "api_url=",
                                "-e", "oauth2_issuer=" + ansible.provider.issuer, "-e", "oauth2_ca_path=" + str(ansible.provider.ca_path))
    assert run.returncode != 0
    assert "Set api_url, the API to call: -e api_url=https://api.example.com/v1/whoami" in run.output, run.output
    assert ansible.provider.token_requests() == 0
