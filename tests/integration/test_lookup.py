# SPDX-License-Identifier: GPL-3.0-or-later
"""The token lookup in real playbooks against the real provider, as users write them."""

from __future__ import annotations

import re

CREDENTIALS_VARS = """
- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
"""

# Configured the way a pipeline's group_vars would: oauth2_* variables pointing at vault-encrypted ones.
OAUTH2_VARIABLES = CREDENTIALS_VARS + """  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ vault_client_id }}"
    oauth2_client_secret: "{{ vault_client_secret }}"
"""


def vaulted_vars(ansible, client: str, prefix: str = "vault") -> None:
    """secrets.yml with the client's id in clear and its secret as an inline vault string, as users keep them."""
    ansible.write("secrets.yml", "%s_client_id: %s\n%s" % (
        prefix, ansible.provider.clients[client]["client_id"].replace('"', '\\"').join('""'),
        ansible.encrypt_string(ansible.secret(client), prefix + "_client_secret")))


def test_three_output_forms_with_discovery_and_vault_inline_variables(ansible):
    vaulted_vars(ansible, "basic")
    run = ansible.playbook(OAUTH2_VARIABLES + """  tasks:
    - name: All three forms
      ansible.builtin.set_fact:
        bare: "{{ lookup('oauth2.client_credentials.token', scope=['read', 'write']) }}"
        header: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
        full: "{{ lookup('oauth2.client_credentials.token', output='full', scope='read') }}"
      no_log: true
    - name: Shapes are right
      ansible.builtin.assert:
        that:
          - bare is string and bare.split('.') | length == 3
          - header.startswith('Bearer ey')
          - full.authorization == 'Bearer ' ~ full.access_token
          - full.token_type == 'Bearer'
          - full.expires_in == 600
          - full is not oauth2.client_credentials.token_expiring(500)
          - full is oauth2.client_credentials.token_expiring(700)
          - full.scope == 'read'
          - full.claims.iss == issuer
          - full.claims.client_id == basic_client_id
          - full.claims.jti is string
          - full.claims.exp - 1 <= full.expires_at <= full.claims.exp
    - name: What a person may see
      ansible.builtin.debug:
        msg: "scope={{ full.scope }} iss={{ full.claims.iss }}"
""")
    assert run.returncode == 0, run.output
    assert "scope=read iss=%s" % ansible.provider.issuer in run.output
    assert ansible.provider.token_requests() == 3
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)


def test_client_secret_post_and_special_characters(ansible):
    ansible.write("secrets.yml", ansible.encrypt_string(ansible.secret("post"), "post_secret")
                  + ansible.encrypt_string(ansible.secret("special"), "special_secret"))
    run = ansible.playbook(CREDENTIALS_VARS + """
  tasks:
    - ansible.builtin.assert:
        that:
          - lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, output='full',
                   client_id=post_client_id, client_secret=post_secret, auth_method='client_secret_post').claims.client_id
            == post_client_id
          - lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, output='full',
                   client_id=special_client_id, client_secret=special_secret).claims.client_id == special_client_id
        quiet: true
""")
    assert run.returncode == 0, run.output
    assert ansible.provider.token_requests() == 2
    ansible.assert_no_secrets(run)


def test_downstream_api_accepts_the_token_and_refuses_without_it(ansible):
    vaulted_vars(ansible, "basic")
    run = ansible.playbook(CREDENTIALS_VARS + """
  tasks:
    - name: Call the protected API with the token
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header', issuer=issuer, ca_path=ca_path,
                              client_id=vault_client_id, client_secret=vault_client_secret, scope='read') }}"
      register: with_token
    - name: Call it without a token
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        status_code: 401
      register: without_token
    - ansible.builtin.debug:
        msg: "with={{ with_token.status }} client={{ with_token.json.client_id }} without={{ without_token.status }}"
""")
    assert run.returncode == 0, run.output
    assert "with=200 client=cc-basic-client without=401" in run.output
    assert ansible.provider.api_stats() == {"calls": 2, "rejected": 1}


def test_vault_encrypted_credentials_file(ansible):
    creds = ansible.write("files/creds.yml", 'client_id: %s\nclient_secret: "%s"\nauth_method: client_secret_post\n'
                          % (ansible.provider.clients["post"]["client_id"], ansible.secret("post")))
    ansible.vault("encrypt", str(creds))
    assert ansible.secret("post") not in creds.read_text()
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "client={{ lookup('oauth2.client_credentials.token', credentials_file='creds.yml', token_url=token_url,
                                ca_path=ca_path, output='full').claims.client_id }}"
"""
    run = ansible.playbook(playbook)
    assert run.returncode == 0, run.output
    assert "client=cc-post-client" in run.output
    ansible.assert_no_secrets(run)

    without_password = ansible.playbook(playbook, vault=False)
    assert without_password.returncode != 0
    assert "creds.yml is vault-encrypted but no vault password was given" in without_password.output
    assert "Traceback" not in without_password.output


def test_configured_by_environment_alone(ansible):
    client = ansible.provider.clients["post"]
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "granted={{ lookup('oauth2.client_credentials.token', output='full').scope }}"
""", env={
        "ANSIBLE_OAUTH2_ISSUER": ansible.provider.issuer, "ANSIBLE_OAUTH2_CA_PATH": str(ansible.provider.ca_path),
        "ANSIBLE_OAUTH2_CLIENT_ID": client["client_id"], "ANSIBLE_OAUTH2_CLIENT_SECRET": client["client_secret"],
        "ANSIBLE_OAUTH2_AUTH_METHOD": "client_secret_post", "ANSIBLE_OAUTH2_SCOPE": "read write",
    }, vault=False)
    assert run.returncode == 0, run.output
    assert "granted=read write" in run.output
    ansible.assert_no_secrets(run)


def test_wrong_secret_fails_with_invalid_client_and_shows_no_secret(ansible):
    wrong = "Wrong-" + ansible.secret("basic")
    ansible.write("secrets.yml", ansible.encrypt_string(wrong, "wrong_secret"))
    run = ansible.playbook(CREDENTIALS_VARS + """
  tasks:
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', issuer=issuer, ca_path=ca_path,
                        client_id=basic_client_id, client_secret=wrong_secret) }}"
""", "-vvvv")
    assert run.returncode == 2
    assert re.search(r"Token endpoint https://127.0.0.1:\d+/token refused the request: HTTP 401 invalid_client "
                     r"\(client authentication failed\)", run.output)
    ansible.assert_no_secrets(run, wrong)


def test_scope_beyond_the_clients_grant(ansible):
    client = ansible.provider.clients["restricted"]
    ansible.write("secrets.yml", ansible.encrypt_string(client["client_secret"], "restricted_secret"))
    run = ansible.playbook(CREDENTIALS_VARS + """
  tasks:
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, scope='read write',
                        client_id=restricted_client_id, client_secret=restricted_secret) }}"
""")
    assert run.returncode == 2
    assert "HTTP 400 invalid_scope (requested scope is not allowed); request only scopes the provider grants" in run.output
    ansible.assert_no_secrets(run)


def test_untrusted_provider_certificate(ansible):
    vaulted_vars(ansible, "basic")
    run = ansible.playbook(CREDENTIALS_VARS + """
  tasks:
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', issuer=issuer, client_id=vault_client_id,
                        client_secret=vault_client_secret) }}"
""")
    assert run.returncode == 2
    assert re.search(r"OpenID discovery document https://127.0.0.1:\d+/.well-known/openid-configuration failed TLS "
                     r"verification \(certificate verify failed: [^)]+\): set ca_path", run.output)
    assert ansible.provider.token_requests() == 0


def test_nothing_secret_at_maximum_verbosity(ansible):
    """-vvvv with a log file: no secret anywhere, and the token only where the playbook prints it."""
    vaulted_vars(ansible, "basic")
    token_file = ansible.directory / "token.txt"
    run = ansible.playbook(OAUTH2_VARIABLES + """  tasks:
    - name: Use the token downstream
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
      no_log: true
    - name: Keep it for the test to compare
      ansible.builtin.copy:
        content: "{{ lookup('oauth2.client_credentials.token') }}"
        dest: "%s"
        mode: "0600"
      no_log: true
    - name: Print the claims, not the token
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', output='full').claims }}"
""" % token_file, "-vvvv")
    assert run.returncode == 0, run.output
    assert "ANSIBLE_LOG_PATH" not in run.log and len(run.log) > 1000
    token = token_file.read_text()
    assert token.count(".") == 2
    assert token not in run.everything and token.split(".")[2] not in run.everything
    ansible.assert_no_secrets(run)


def test_ansible_doc_is_a_complete_manual(ansible):
    result = ansible.command(["ansible-doc", "-t", "lookup", "oauth2.client_credentials.token"])
    assert result.returncode == 0, result.stderr
    for option in ("token_url", "issuer", "client_id", "client_secret", "auth_method", "scope", "resource", "audience",
                   "extra_params", "validate_certs", "ca_path", "timeout", "credentials_file", "output",
                   "ANSIBLE_OAUTH2_CLIENT_SECRET", "oauth2_client_secret", "[oauth2_client_credentials]"):
        assert option in result.stdout, option
    assert "EXAMPLES" in result.stdout and "RETURN VALUES" in result.stdout
