# SPDX-License-Identifier: GPL-3.0-or-later
"""The api_token role's own settings under their api_token_* names; the other tests keep the deprecated
oauth2_* names, which must go on working."""

from __future__ import annotations

import re


def test_role_settings_by_their_new_names(ansible):
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
    oauth2_fact_name: not_this_one
  roles:
    - oauth2.client_credentials.api_token
  tasks:
    - ansible.builtin.assert:
        that:
          - api_token.claims.client_id == basic_client_id
          - not_this_one is not defined
          - oauth2_token is not defined
        quiet: true
    - name: A 600 s token cannot last 700 s
      block:
        - ansible.builtin.include_role:
            name: oauth2.client_credentials.api_token
          vars:
            api_token_min_ttl: 700
            oauth2_token_min_ttl: 1
        - ansible.builtin.fail:
            msg: the role accepted a token that expires too soon
      rescue:
        - ansible.builtin.assert:
            that:
              - "'expires within 700 seconds' in ansible_failed_result.msg"
              - "'lower api_token_min_ttl' in ansible_failed_result.msg"
            quiet: true
""", "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    assert run.output.count("rescued=1") == 4 and "failed=1" not in run.output
    assert re.search(r"\[host1 -> host3\]", run.output), "the token is requested on api_token_delegate_to"
    assert ansible.provider.token_requests() == 2
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)
