# SPDX-License-Identifier: GPL-3.0-or-later
"""The api_token role's settings that no other test changes: the host that requests the token and the fact's name.
api_token_min_ttl is tested with the role in tests/integration/test_module.py and test_playbook_shapes.py."""

from __future__ import annotations

import re


def test_role_settings_by_their_names(ansible):
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    run = ansible.playbook("""
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    api_token_fact_name: api_token
    api_token_delegate_to: host3
  roles:
    - oauth2.client_credentials.api_token
  tasks:
    - ansible.builtin.assert:
        that:
          - api_token.claims.client_id == basic_client_id
          - oauth2_token is not defined
        quiet: true
""", "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    assert re.search(r"\[host1 -> host3\]", run.output), "the token is requested on api_token_delegate_to"
    assert ansible.provider.token_requests() == 1
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)
