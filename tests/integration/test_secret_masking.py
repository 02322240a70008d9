# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-core 2.22's secret masking: the tokens the collection hands out, and a secret from the environment, are
masked in everything Ansible shows, while tasks still use the real values. Before 2.22 there is no masking, and
these plays show what the README warns about: an unprotected debug prints the token."""

from __future__ import annotations

import pytest
from ansible.release import __version__ as ansible_version

# ansible-playbook runs from the interpreter that runs the tests.
MASKING = tuple(int(part) for part in ansible_version.split(".")[:2]) >= (2, 22)
PLACEHOLDER = "$REDACTED$"

CARELESS_PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ basic_client_id }}"
    ansible_inject_invocation: true  # what a module was called with, as 2.17-2.20 always return it
  tasks:
    - name: A debug of the lookup's token, without no_log
      ansible.builtin.debug:
        msg: "token {{ lookup('oauth2.client_credentials.token') }}"
    - name: The CI secret the lookup read from the environment
      ansible.builtin.debug:
        msg: "secret {{ lookup('ansible.builtin.env', 'ANSIBLE_OAUTH2_CLIENT_SECRET') }}"
    - name: The API called with the header, without no_log
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
      register: called
    - name: The module's fact, its result shown
      oauth2.client_credentials.token: {}
      no_log: false
    - name: A debug of the fact
      ansible.builtin.debug:
        var: ansible_facts.oauth2_token
    - name: Tasks still use the real values
      ansible.builtin.assert:
        that:
          - called.status == 200
          - ansible_facts.oauth2_token.access_token == lookup('oauth2.client_credentials.token')
          - ansible_facts.oauth2_token.authorization == 'Bearer ' ~ ansible_facts.oauth2_token.access_token
          - ansible_facts.oauth2_token.access_token.split('.') | length == 3
    - name: A failing assert that prints the token
      ansible.builtin.assert:
        that: ansible_facts.oauth2_token.access_token.startswith('not a token')
        fail_msg: "unexpected token {{ ansible_facts.oauth2_token.access_token }}"
      ignore_errors: true
"""


@pytest.mark.parametrize("timezone", ["Asia/Kolkata"])
def test_tokens_and_a_secret_from_the_environment_are_masked_where_the_core_masks(ansible, timezone):
    secret = ansible.secret("basic")
    run = ansible.playbook(CARELESS_PLAY, "-vvvv", env={"ANSIBLE_OAUTH2_CLIENT_SECRET": secret}, vault=False)
    assert run.returncode == 0, run.output
    tokens = ansible.provider.issued_tokens()
    # One token, from the provider once: the lookups and the module on the controller share the token cache.
    assert len(tokens) == 1
    shown = {"token": tokens[0] in run.everything, "JWT signature": tokens[0].rsplit(".", 1)[1] in run.everything,
             "secret": "secret " + secret in run.everything}
    if MASKING:
        assert shown == {"token": False, "JWT signature": False, "secret": False}
        assert "token " + PLACEHOLDER in run.output
        assert "secret " + PLACEHOLDER in run.output
        assert "unexpected token " + PLACEHOLDER in run.output
        assert "\"Authorization\": \"%s\"" % PLACEHOLDER in run.output  # uri's invocation at -vvvv
        assert "\"access_token\": \"%s\"" % PLACEHOLDER in run.output  # the module's result and the fact
        assert PLACEHOLDER in run.log
        ansible.assert_no_secrets(run)
    else:
        # What the README warns about: without masking every one of these prints the token.
        assert shown == {"token": True, "JWT signature": True, "secret": True}
        assert PLACEHOLDER not in run.everything
