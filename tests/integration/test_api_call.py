# SPDX-License-Identifier: GPL-3.0-or-later
"""The api_call module against the real provider and the test API: bearer and DPoP-bound tokens, one fresh token on a 401."""

from __future__ import annotations


def test_bearer_call_on_many_hosts_with_one_token_request(ansible):
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    run = ansible.playbook("""
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - name: Every host calls the API
      oauth2.client_credentials.api_call:
        url: "{{ api_url }}"
        api_ca_path: "{{ ca_path }}"
        issuer: "{{ issuer }}"
        ca_path: "{{ ca_path }}"
        scope: [read]
      register: answer
    - ansible.builtin.debug:
        msg: "{{ inventory_hostname }} got {{ answer.status }} as {{ answer.json.client_id }} refreshed {{ answer.token_refreshed }} changed {{ answer.changed }}"
""", "-i", "inventory.ini", "-vvvv")
    assert run.returncode == 0, run.output
    for host in ("host1", "host2", "host3", "host4"):
        assert "%s got 200 as cc-basic-client refreshed False changed False" % host in run.output
    assert ansible.provider.token_requests() == 1
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)
