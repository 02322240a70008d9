# SPDX-License-Identifier: GPL-3.0-or-later
"""The secret-leak suite: the lookup, the module, the role and both playbooks, failures included, at -vvvv with a
log file, a jsonfile fact cache and the token cache on disk; then every byte they printed or left behind is searched
for every secret and every issued token."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Dict, List
from urllib.parse import quote, quote_plus

LOOKUP_PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ basic_client_id }}"
    oauth2_client_secret: "{{ basic_secret }}"
  tasks:
    - name: The lookup in a header
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
      no_log: true
    - name: What a person may see
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', output='full').claims }}"
    - name: A refused client
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', client_secret=wrong_secret) }}"
      ignore_errors: true
"""

MODULE_PLAY = """
- hosts: app
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - name: The module, registered
      oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        client_id: "{{ basic_client_id }}"
        client_secret: "{{ basic_secret }}"
        fact_name: ""
      register: obtained
      run_once: true
      delegate_to: localhost
    - name: From a vault-encrypted credentials file, client_secret_post
      oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        credentials_file: creds.yml
        fact_name: ""
      run_once: true
    - name: private_key_jwt with a vault-encrypted key file
      oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        client_id: "{{ private_key_client_id }}"
        private_key_path: client-key.pem
        fact_name: ""
      run_once: true
    - name: tls_client_auth with a vault-encrypted client key file
      oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        client_id: "{{ mtls_client_id }}"
        client_cert: "{{ client_cert_path }}"
        client_key: mtls-client-key.pem
        fact_name: ""
      run_once: true
    - name: A refused client
      oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        client_id: "{{ basic_client_id }}"
        client_secret: "{{ wrong_secret }}"
      run_once: true
      ignore_errors: true
    - name: Every host uses the token
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ obtained.token.authorization }}"
      no_log: true
"""

ROLE_PLAY = """
- hosts: app
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ special_client_id }}"
    oauth2_client_secret: "{{ special_secret }}"
  roles:
    - oauth2.client_credentials.api_token
"""

# The one deliberate print: proves the search finds a token where one is.
CANARY_PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: [secrets.yml]
  tasks:
    - ansible.builtin.copy:
        content: "{{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path,
                            client_id=basic_client_id, client_secret=basic_secret) }}"
        dest: canary-token.txt
        mode: "0600"
      no_log: true
"""


def forms_of_secrets(ansible, wrong_secret: str) -> Dict[str, str]:
    """Each secret as it could surface: raw, form- and percent-encoded, base64, and inside a Basic header."""
    forms = {"vault password": ansible.vault_password, "wrong secret": wrong_secret}
    for name, client in ansible.provider.clients.items():
        secret = client.get("client_secret")
        if not secret:
            continue
        forms.update({
            name + " secret": secret,
            name + " secret, form-encoded": quote_plus(secret),
            name + " secret, percent-encoded": quote(secret, safe=""),
            name + " secret, base64": base64.b64encode(secret.encode()).decode(),
            name + " Basic credentials": base64.b64encode(
                ("%s:%s" % (quote(client["client_id"], safe=""), quote(secret, safe=""))).encode()).decode(),
        })
    forms.update(("private key line %d" % n, line) for n, line in enumerate(ansible.private_key_lines()))
    return forms


def test_no_secret_and_no_token_anywhere(ansible, capsys):
    ansible.write_inventory()
    ansible.write_vaulted_variables()  # oauth2_client_id and oauth2_client_secret, for the playbooks run by FQCN
    wrong_secret = "Wrong-" + ansible.secret("basic")
    ansible.write("secrets.yml", ansible.encrypt_string(ansible.secret("basic"), "basic_secret")
                  + ansible.encrypt_string(ansible.secret("special"), "special_secret")
                  + ansible.encrypt_string(wrong_secret, "wrong_secret"))
    creds = ansible.write("files/creds.yml", "client_id: %s\nclient_secret: %s\nauth_method: client_secret_post\n" % (
        ansible.provider.clients["post"]["client_id"], ansible.secret("post")))
    ansible.vault("encrypt", str(creds))
    for name, source in (("client-key.pem", ansible.provider.client_keys["rsa"]), ("mtls-client-key.pem", ansible.provider.tls.client_key_path)):
        ansible.vault("encrypt", str(ansible.write("files/" + name, source.read_text())))
    temporary = ansible.directory / "tmp"
    temporary.mkdir()
    env = {"ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(ansible.directory / "facts"),
           "TMPDIR": str(temporary)}
    printed: List[str] = []
    for play in (LOOKUP_PLAY, MODULE_PLAY, ROLE_PLAY, CANARY_PLAY):
        run = ansible.playbook(play, "-vvvv", "-i", "inventory.ini", env=env)
        assert run.returncode == 0, run.output
        printed.append(run.output)
    common = ("-vvvv", "-i", "inventory.ini", "-e", "@vault_creds.yml", "-e", "oauth2_token_url=" + ansible.provider.token_url,
              "-e", "oauth2_ca_path=" + str(ansible.provider.ca_path))
    for playbook in ("oauth2.client_credentials.get_token", "oauth2.client_credentials.call_api"):
        run = ansible.playbook_fqcn(playbook, *common, "-e", "api_url=" + ansible.provider.api_url,
                                    "-e", "api_ca_path=" + str(ansible.provider.ca_path), env=env)
        assert run.returncode == 0, run.output
        printed.append(run.output)

    tokens = ansible.provider.issued_tokens()
    assert len(tokens) >= 4
    wanted = dict(forms_of_secrets(ansible, wrong_secret), **{"token %d" % n: token for n, token in enumerate(tokens)})
    # Everything under the home and temp directories, but the vault password file the user brought.
    files = [path for path in ansible.directory.rglob("*")
             if path.is_file() and not path.is_symlink() and path != ansible.vault_password_file]
    texts = {"output of run %d" % n: text.encode() for n, text in enumerate(printed)}
    texts.update({str(path.relative_to(ansible.directory)): path.read_bytes() for path in files})
    hits = [(where, what) for where, data in texts.items() for what, value in wanted.items() if value.encode() in data]
    deliberate = [hit for hit in hits if hit[0] == "canary-token.txt"]
    with capsys.disabled():
        print("\nsecret-leak suite: %d strings (%d tokens) searched in %d outputs and %d files (%d bytes); %d hits, "
              "%d of them the deliberate canary" % (len(wanted), len(tokens), len(printed), len(files),
                                                    sum(len(data) for data in texts.values()), len(hits), len(deliberate)))
    assert len(deliberate) == 1, "the search must find the token the canary play wrote"
    assert [hit for hit in hits if hit not in deliberate] == []
    assert any(Path(where).parts[:1] == ("facts",) for where in texts), "the fact cache was written and searched"
