# SPDX-License-Identifier: GPL-3.0-or-later
"""auth_method client_assertion against the real provider: a play holds no secret and no key, only the client id, the
token endpoint and a CI job's identity token, as a file the runner may replace or as an environment variable.

The provider has no federated credentials; Provider.identity_token() stands in for the CI's token with an assertion of
the private_key_jwt client, signed with its key, that the provider checks as it would a federated one: signature,
iss, aud, exp, and a jti it has never seen (so an assertion sent twice is refused)."""

from __future__ import annotations

import re

# Configured as a CI job configures it: the client id and the token endpoint, and the job's identity token in a file.
ASSERTION_FILE_VARS = """
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ private_key_client_id }}"
"""


def test_a_play_with_only_the_client_id_the_token_endpoint_and_an_assertion_file_calls_the_api(ansible):
    """api_call on every host, the lookup and the module: one token request, with the assertion the file held."""
    ansible.write_inventory()
    token = ansible.provider.identity_token()
    path = ansible.write("id-token", token + "\n")  # as echo "$TOKEN" > file leaves it
    run = ansible.playbook("""
- hosts: app
  gather_facts: false""" + ASSERTION_FILE_VARS + """  tasks:
    - name: Every host calls the API
      oauth2.client_credentials.api_call:
        url: "{{ api_url }}"
        api_ca_path: "{{ ca_path }}"
      register: answer
    - ansible.builtin.assert:
        that: answer.json.client_id == private_key_client_id
        quiet: true
    - name: The lookup gets the same token from the cache
      ansible.builtin.assert:
        that: lookup('oauth2.client_credentials.token', output='full').claims.client_id == private_key_client_id
        quiet: true
    - name: So does the module, once, on the controller
      oauth2.client_credentials.token:
        fact_name: ""
      run_once: true
      delegate_to: localhost
      register: obtained
    - ansible.builtin.assert:
        that: obtained.token.claims.client_id == private_key_client_id
        quiet: true
      run_once: true
""", "-i", "inventory.ini", env={"ANSIBLE_OAUTH2_CLIENT_ASSERTION_FILE": str(path)})
    assert run.returncode == 0, run.output
    assert ansible.provider.token_requests() == 1 and ansible.provider.client_assertions() == [token]
    assert ansible.provider.api_stats() == {"calls": 4, "rejected": 0}
    assert run.tokens() == set(), "neither the assertion nor the access token shows"
    ansible.assert_no_secrets(run, token)


def test_a_replaced_assertion_file_is_read_again_by_each_request(ansible):
    """With cache: false every task requests a token, each with the assertion the file holds at that moment; the provider
    would refuse one it has seen, as the last task, after which the file was not replaced, shows."""
    tokens = [ansible.provider.identity_token() for _job in range(3)]
    for number, token in enumerate(tokens):
        ansible.write("next-id-token-%d" % number, token)
    ansible.write("id-token", tokens[0])
    replace = """
    - name: The runner writes the next job's token
      ansible.builtin.copy:
        src: next-id-token-%d
        dest: "{{ playbook_dir }}/id-token"
        mode: "0600"
"""
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false""" + ASSERTION_FILE_VARS + """    oauth2_client_assertion_file: "{{ playbook_dir }}/id-token"
    oauth2_cache: false
  tasks:
    - name: The lookup
      ansible.builtin.assert:
        that: lookup('oauth2.client_credentials.token', output='full').claims.client_id == private_key_client_id
        quiet: true
""" + replace % 1 + """
    - name: The module
      oauth2.client_credentials.token:
        fact_name: ""
      register: obtained
""" + replace % 2 + """
    - name: api_call
      oauth2.client_credentials.api_call:
        url: "{{ api_url }}"
        api_ca_path: "{{ ca_path }}"
    - name: The same file once more
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token') | length }}"
      ignore_errors: true
      register: refused
    - ansible.builtin.debug:
        msg: "refused: {{ refused.msg }}"
""")
    assert run.returncode == 0, run.output
    assert ansible.provider.client_assertions() == [tokens[0], tokens[1], tokens[2], tokens[2]]
    assert ansible.provider.token_requests() == 4 and len(ansible.provider.issued_tokens()) == 3
    shown = re.findall(r'"msg": "refused: (.*)"', run.output)
    assert len(shown) == 1 and "\\n" not in shown[0], run.output
    client_id = ansible.provider.clients["private_key"]["client_id"]
    assert ("invalid_client (client authentication failed); check that the provider trusts this client's assertions from issuer "
            "%s with subject %s and audience %s (its federated credential must name exactly these), and that the assertion is valid "
            "by the provider's clock (expires " % (client_id, client_id, ansible.provider.token_url)) in shown[0]
    assert shown[0].endswith("(client_id came from variable oauth2_client_id, client_assertion_file from variable oauth2_client_assertion_file.)")
    assert run.tokens() == set()
    ansible.assert_no_secrets(run, *tokens)


def test_the_role_with_the_assertion_in_the_environment_as_gitlab_id_tokens_give_it(ansible):
    """GitLab CI puts an id_tokens entry into the variable of its name: ANSIBLE_OAUTH2_CLIENT_ASSERTION is one."""
    ansible.write_inventory()
    token = ansible.provider.identity_token()
    run = ansible.playbook("""
- hosts: app
  gather_facts: false""" + ASSERTION_FILE_VARS + """  roles:
    - oauth2.client_credentials.api_token
  tasks:
    - ansible.builtin.assert:
        that: oauth2_token.claims.client_id == private_key_client_id
        quiet: true
""", "-i", "inventory.ini", env={"ANSIBLE_OAUTH2_CLIENT_ASSERTION": token})
    assert run.returncode == 0, run.output
    assert ansible.provider.client_assertions() == [token] and ansible.provider.token_requests() == 1
    assert run.tokens() == set()
    ansible.assert_no_secrets(run, token)
