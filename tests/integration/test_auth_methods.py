# SPDX-License-Identifier: GPL-3.0-or-later
"""Every client authentication method against the real provider, through the lookup and the module."""

from __future__ import annotations

import re
import shutil

import pytest
from cryptography.hazmat.primitives import serialization

from harness import make_tls_material

# The tasks of a block whose vars hold token (a token result) and label.
USE_THE_TOKEN = """
        - name: The API accepts the token
          ansible.builtin.uri:
            url: "{{ api_url }}"
            ca_path: "{{ ca_path }}"
            headers:
              Authorization: "Bearer {{ token.access_token }}"
          no_log: true
        - ansible.builtin.debug:
            msg: "{{ label }}: {{ token.claims.client_id }}"
"""

# Configured by oauth2_* play variables: a token from the module on the controller, then one from the lookup, both used.
MODULE_THEN_LOOKUP = """  tasks:
    - oauth2.client_credentials.token:
        fact_name: ""
      delegate_to: localhost
      register: obtained
    - vars:
        token: "{{ obtained.token }}"
        label: module
      block:""" + USE_THE_TOKEN + """
    - vars:
        token: "{{ lookup('oauth2.client_credentials.token', output='full', cache=false) }}"
        label: lookup
      block:""" + USE_THE_TOKEN

# A play configured by oauth2_* variables for the private_key_jwt client, its key in files/client-key.pem.
PRIVATE_KEY_FILE_PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ private_key_client_id }}"
    oauth2_private_key_path: client-key.pem
"""


def test_client_secret_jwt_through_lookup_and_module(ansible):
    ansible.write("secrets.yml", ansible.encrypt_string(ansible.secret("jwt_secret"), "jwt_secret"))
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ jwt_secret_client_id }}"
    oauth2_client_secret: "{{ jwt_secret }}"
    oauth2_auth_method: client_secret_jwt
    oauth2_client_assertion_audience: "{{ issuer }}"
""" + MODULE_THEN_LOOKUP)
    assert run.returncode == 0, run.output
    assert "module: cc-jwt-secret-client" in run.output and "lookup: cc-jwt-secret-client" in run.output
    assert ansible.provider.api_stats() == {"calls": 2, "rejected": 0}
    ansible.assert_no_secrets(run)


@pytest.mark.parametrize("key, algorithm", [("rsa", None), ("rsa", "PS256"), ("ec", None), ("ed25519", None)])
def test_private_key_jwt_with_each_kind_of_key(ansible, key, algorithm):
    shutil.copy(ansible.provider.client_keys[key], ansible.directory / "client.pem")
    chosen = "client_assertion_algorithm='%s'," % algorithm if algorithm else ""
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - vars:
        token: "{{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, client_id=private_key_client_id,
                          private_key=lookup('ansible.builtin.file', 'client.pem'), private_key_id='%s', %s output='full') }}"
        label: "%s"
      block:""" % (key, chosen, key) + USE_THE_TOKEN)
    assert run.returncode == 0, run.output
    assert "%s: cc-private-key-client" % key in run.output
    ansible.assert_no_secrets(run)


def test_vault_encrypted_private_key_file_for_module_and_lookup(ansible):
    key = ansible.write("files/client-key.pem", ansible.provider.client_keys["ec"].read_text())
    ansible.vault("encrypt", str(key))
    run = ansible.playbook(PRIVATE_KEY_FILE_PLAY + MODULE_THEN_LOOKUP, "-vvv")
    assert run.returncode == 0, run.output
    assert "module: cc-private-key-client" in run.output and "lookup: cc-private-key-client" in run.output
    ansible.assert_no_secrets(run)


def test_tls_client_auth_through_lookup_and_module(ansible):
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ mtls_client_id }}"
    oauth2_client_cert: "{{ client_cert_path }}"
    oauth2_client_key: "{{ client_key_path }}"
""" + MODULE_THEN_LOOKUP + """
    - name: Without a certificate, tls_client_auth is one clear line
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', client_cert='', client_key='', auth_method='tls_client_auth') }}"
      ignore_errors: true
      register: refused
    - ansible.builtin.assert:
        that: "'client_cert is not set, and auth_method tls_client_auth needs it' in refused.msg"
""")
    assert run.returncode == 0, run.output
    assert "module: cc-mtls-client" in run.output and "lookup: cc-mtls-client" in run.output
    ansible.assert_no_secrets(run)


def test_vault_encrypted_client_key_for_tls_client_auth_through_module_and_lookup(ansible):
    """Decrypted on the controller, the key reaches the module as no_log text; each request writes it to a private temporary file."""
    key = ansible.write("files/mtls-client-key.pem", ansible.provider.tls.client_key_path.read_text())
    ansible.vault("encrypt", str(key))
    temporary = ansible.directory / "tmp"
    temporary.mkdir()
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ mtls_client_id }}"
    oauth2_client_cert: "{{ client_cert_path }}"
    oauth2_client_key: mtls-client-key.pem
""" + MODULE_THEN_LOOKUP, "-vvv", env={"TMPDIR": str(temporary)})
    assert run.returncode == 0, run.output
    assert "module: cc-mtls-client" in run.output and "lookup: cc-mtls-client" in run.output
    assert list(ansible.directory.rglob("oauth2-client-key-*")) == [], "no temporary key file outlives its request"
    ansible.assert_no_secrets(run)


# A refused client: the task's msg, and the one line that says where the credentials its auth_method used came from.
REFUSED = """
      ignore_errors: true
      register: refused
    - ansible.builtin.debug:
        msg: "refused: {{ refused.msg }}"
"""


def refusal(run):
    """The refused task's message, which must be one line ending in where the credentials came from."""
    assert run.returncode == 0, run.output
    shown = re.findall(r'"msg": "refused: (.*)"', run.output)
    assert len(shown) == 1 and "invalid_client" in shown[0] and "\\n" not in shown[0], run.output
    return shown[0]


def test_an_unregistered_key_is_refused_with_where_it_came_from(ansible):
    ansible.write("files/other.pem", ansible.provider.tls.client_key_path.read_text())  # a real key, not the client's
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, client_id=private_key_client_id,
                        private_key_path='other.pem') }}"
""" + REFUSED)
    assert refusal(run).endswith("(client_id came from the task's arguments, private_key from private_key_path %s.)"
                                 % (ansible.directory / "files" / "other.pem"))
    ansible.assert_no_secrets(run)


def test_a_wrong_secret_for_client_secret_jwt_is_refused_with_where_it_came_from(ansible):
    """The secret signs the assertion and never travels: the provider can only say the signature is wrong."""
    ansible.write("secrets.yml", ansible.encrypt_string("Wrong-" + ansible.secret("jwt_secret"), "wrong_secret"))
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    oauth2_client_secret: "{{ wrong_secret }}"
  tasks:
    - oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        client_id: "{{ jwt_secret_client_id }}"
        auth_method: client_secret_jwt
        fact_name: ""
""" + REFUSED)
    assert refusal(run).endswith("(client_id came from the task's arguments, client_secret from variable oauth2_client_secret.)")
    ansible.assert_no_secrets(run, "Wrong-" + ansible.secret("jwt_secret"))


def test_an_unregistered_certificate_is_refused_with_where_it_came_from(ansible, tmp_path):
    """A certificate and key of a CA the provider does not trust, for the subject it registered: tls_client_auth fails."""
    other = make_tls_material(tmp_path / "other-tls")
    shutil.copy(other.client_cert_path, ansible.directory / "client.pem")
    ansible.vault("encrypt", str(ansible.write("files/client-key.pem", other.client_key_path.read_text())))
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        client_id: "{{ mtls_client_id }}"
        client_key: client-key.pem
        fact_name: ""
""" + REFUSED, env={"ANSIBLE_OAUTH2_CLIENT_CERT": str(ansible.directory / "client.pem")})
    assert refusal(run).endswith("(client_id came from the task's arguments, client_cert from environment variable ANSIBLE_OAUTH2_CLIENT_CERT, "
                                 "client_key_content from client_key %s.)" % (ansible.directory / "files" / "client-key.pem"))
    ansible.assert_no_secrets(run, *other.client_key_path.read_text().splitlines()[1:-1])


def test_a_four_character_passphrase_works_in_the_lookup_and_is_one_clear_line_in_the_module(ansible):
    """Before ansible-core 2.22 the module's result would come back with every "test" blanked out of it: the token's
    audience https://api.test/ as https://api.********/."""
    key = serialization.load_pem_private_key(ansible.provider.client_keys["rsa"].read_bytes(), None)
    ansible.write("files/client-key.pem", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.BestAvailableEncryption(b"test")).decode())
    run = ansible.playbook(PRIVATE_KEY_FILE_PLAY + """    oauth2_private_key_id: rsa
    oauth2_private_key_passphrase: test
  tasks:
    - name: The lookup has no result for Ansible to scrub
      ansible.builtin.assert:
        that: lookup('oauth2.client_credentials.token', output='full').claims.aud == 'https://api.test/'
        quiet: true
    - name: The module refuses the passphrase before it runs
      oauth2.client_credentials.token:
        fact_name: ""
      delegate_to: localhost
      ignore_errors: true
      register: refused
    - ansible.builtin.assert:
        that: refused.msg == expected
      vars:
        expected: >-
          private_key_passphrase is shorter than 8 characters: Ansible would blank out every occurrence of it in the
          module's result, the token included. Use the lookup, or a passphrase of at least 8 characters.
""")
    assert run.returncode == 0, run.output
    assert ansible.provider.token_requests() == 1
    ansible.assert_no_secrets(run)
