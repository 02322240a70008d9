# SPDX-License-Identifier: GPL-3.0-or-later
"""The secret-leak suite: the lookup, the module, the role and both playbooks, failures included, at -vvvv with a
log file per run, a jsonfile fact cache, the token cache and temporary directories on disk; then every byte they
printed or left behind is searched for every secret, private key, the vault password and every issued token, in
every form they could take there. Canaries written on purpose, one per form, prove that the search finds each form."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Dict, List, Set, Tuple
from urllib.parse import quote, quote_plus

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

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

API_CALL_PLAY = """
- hosts: app
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    api_base: "{{ api_url | regex_replace('/whoami$', '') }}"
  tasks:
    - name: A bearer token on every host
      oauth2.client_credentials.api_call:
        url: "{{ api_url }}"
        api_ca_path: "{{ ca_path }}"
        client_id: "{{ basic_client_id }}"
        client_secret: "{{ basic_secret }}"
    - name: DPoP with a generated key; the API wants its own nonce too
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/nonce/whoami"
        api_ca_path: "{{ ca_path }}"
        client_id: "{{ dpop_client_id }}"
        client_secret: "{{ dpop_secret }}"
        dpop: true
    - name: The provider revokes every token it issued
      ansible.builtin.uri:
        url: "{{ api_base }}/_test/revoke"
        method: POST
        ca_path: "{{ ca_path }}"
      run_once: true
    - name: DPoP with a vault-encrypted key of one's own; the revoked token is replaced
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/echo"
        api_ca_path: "{{ ca_path }}"
        method: POST
        body: {deploy: web}
        body_format: json
        client_id: "{{ dpop_client_id }}"
        client_secret: "{{ dpop_secret }}"
        dpop: true
        dpop_private_key_path: dpop-key.pem
      run_once: true
    - name: An API that refuses every token
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/always-401"
        api_ca_path: "{{ ca_path }}"
        client_id: "{{ dpop_client_id }}"
        client_secret: "{{ dpop_secret }}"
        dpop: true
      run_once: true
      ignore_errors: true
"""

# auth_method client_assertion: a CI job's identity token (the harness's stand-in) as a file, as a vault-encrypted
# variable, expired, and refused as a replay.
ASSERTION_PLAY = """
- hosts: app
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_client_id: "{{ private_key_client_id }}"
  tasks:
    - name: api_call on every host with the identity token's file
      oauth2.client_credentials.api_call:
        url: "{{ api_url }}"
        api_ca_path: "{{ ca_path }}"
        client_assertion_file: "{{ playbook_dir }}/id-token"
    - name: The module with the identity token as a variable
      oauth2.client_credentials.token:
        client_assertion: "{{ identity_token }}"
        cache: false
        fact_name: ""
      run_once: true
      delegate_to: localhost
    - name: An expired identity token, where a token must be requested (a cached one would be handed out)
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', client_assertion=expired_identity_token, cache=false) }}"
      run_once: true
      ignore_errors: true
    - name: The same identity token again, refused by the provider
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', client_assertion=identity_token, cache=false) }}"
      run_once: true
      ignore_errors: true
"""

# The canary in every form the search looks for, each made by Ansible's own filters, one form a line (its name, a tab,
# the canary in that form) in canary.txt, and a token, its payload and its signature alike: the search must find each
# form on its own line. A canary, never a real secret; the token one no other play uses (cache false).
CANARY_PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: [canary.yml, secrets.yml]
  vars:
    texts:
      plain: "{{ canary }}"
      JSON-escaped: "{{ (canary | to_json)[1:-1] }}"
      JSON-escaped, non-ASCII kept: "{{ (canary | to_json(ensure_ascii=false))[1:-1] }}"
      percent-encoded: "{{ canary | urlencode | replace('/', '%2F') }}"
      percent-encoded, slash kept: "{{ canary | urlencode }}"
      form-encoded: "{{ ({'c': canary} | urlencode)[2:] }}"
    token: "{{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, client_id=restricted_client_id,
                      client_secret=restricted_secret, cache=false) }}"
  tasks:
    - name: Each form on a line of its own; base64 inside a longer text, starting at each offset into a group of three bytes
      ansible.builtin.copy:
        content: |
          {% for name, text in texts.items() %}
          {{ name }}\t{{ text }}
          {% for offset in [0, 1, 2] %}
          {% set encoded = ('x' * offset ~ text ~ 'tail') | b64encode %}
          base64 at offset {{ offset }} of {{ name }}\t{{ encoded }}
          URL-safe base64 at offset {{ offset }} of {{ name }}\t{{ encoded | replace('+', '-') | replace('/', '_') }}
          {% endfor %}
          {% endfor %}
          token\t{{ token }}
          token payload\t{{ token.split('.')[1] }}
          token signature\t{{ token.split('.')[2] }}
        dest: canary.txt
        mode: "0600"
      no_log: true
"""
# Header fields that every token signed with one key shares: a header of only these says nothing about the token.
GENERIC_HEADER_FIELDS = {"alg", "typ", "kid"}
# Shorter needles could turn up by chance in a few hundred kilobytes of base64 and logs.
SHORTEST_VALUE = 16


def text_forms(value: str) -> Dict[str, str]:
    """A value as it could be written: as given, JSON-escaped, percent-encoded (Basic credentials) and form-encoded (a request body)."""
    return {
        "plain": value,
        "JSON-escaped": json.dumps(value)[1:-1],
        "JSON-escaped, non-ASCII kept": json.dumps(value, ensure_ascii=False)[1:-1],
        "percent-encoded": quote(value, safe=""),
        "percent-encoded, slash kept": quote(value),
        "form-encoded": quote_plus(value),
    }


def base64_inside(data: bytes, offset: int, alphabet: str) -> str:
    """How data reads inside a longer base64 text when it starts offset bytes into a group of three: only the
    4-character groups made of its bytes alone, since the first and last depend on what is around it."""
    encoded = base64.b64encode(b"\0" * offset + data).decode()
    if alphabet == "URL-safe base64":
        encoded = encoded.replace("+", "-").replace("/", "_")
    return encoded[4 if offset else 0:len(encoded) - (4 if (offset + len(data)) % 3 else 0)]


def forms(value: str) -> Dict[str, str]:
    """Every form of value that is searched: each text form, and each of those in base64 at every offset, in both alphabets
    (so a Basic header is found whatever the client id before the secret, and whichever encoding built it)."""
    found = text_forms(value)
    for name, text in text_forms(value).items():
        for alphabet in ("base64", "URL-safe base64"):
            for offset in (0, 1, 2):
                found["%s at offset %d of %s" % (alphabet, offset, name)] = base64_inside(text.encode(), offset, alphabet)
    return found


def token_values(name: str, token: str) -> Dict[str, str]:
    """A token, and its payload and signature on their own; its header too unless it is generic (alg, typ, kid only)."""
    header, payload, signature = token.split(".")
    values = {name: token, name + " payload": payload, name + " signature": signature}
    if set(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))) - GENERIC_HEADER_FIELDS:
        values[name + " header"] = header
    return values


def search(texts: Dict[str, bytes], values: Dict[str, str]) -> Set[Tuple[str, str, str]]:
    """(where, value, form) for every form of every value found in every text."""
    needles: Dict[bytes, List[Tuple[str, str]]] = {}
    for value_name, value in values.items():
        for form_name, needle in forms(value).items():
            needles.setdefault(needle.encode(), []).append((value_name, form_name))
    return {(where, value_name, form_name) for where, data in texts.items() for needle, named in needles.items() if needle in data
            for value_name, form_name in named}


def secret_values(ansible, wrong_secret: str) -> Dict[str, str]:
    """Every client secret, the wrong one, the vault password, and each line of every test client's private key."""
    values = {"vault password": ansible.vault_password, "wrong secret": wrong_secret}
    values.update((name + " secret", client["client_secret"]) for name, client in ansible.provider.clients.items() if "client_secret" in client)
    values.update(("private key line %d" % n, line) for n, line in enumerate(ansible.private_key_lines()))
    return values


# The identity token file the CI runner brings, as the user brings the vault password file: the two files not searched.
IDENTITY_TOKEN_FILE = "id-token"


def written_files(ansible) -> Dict[str, Path]:
    """Everything under the test's home, its temporary directories and caches, but the vault password file the user
    brought and the identity token file the runner wrote."""
    brought = (ansible.vault_password_file, ansible.directory / IDENTITY_TOKEN_FILE)
    return {str(path.relative_to(ansible.directory)): path for path in ansible.directory.rglob("*")
            if path.is_file() and not path.is_symlink() and path not in brought}


def test_no_secret_and_no_token_anywhere(ansible, capsys):
    ansible.write_inventory()
    ansible.write_vaulted_variables()  # oauth2_client_id and oauth2_client_secret, for the playbooks run by FQCN
    wrong_secret = "Wrong-" + ansible.secret("basic")
    expired_identity_token = ansible.provider.identity_token(lifetime=-3600)
    ansible.write("secrets.yml", ansible.encrypt_string(ansible.secret("basic"), "basic_secret")
                  + ansible.encrypt_string(ansible.secret("special"), "special_secret")
                  + ansible.encrypt_string(ansible.secret("restricted"), "restricted_secret")
                  + ansible.encrypt_string(ansible.secret("dpop"), "dpop_secret")
                  + ansible.encrypt_string(wrong_secret, "wrong_secret")
                  + ansible.encrypt_string(ansible.provider.identity_token(), "identity_token")
                  + ansible.encrypt_string(expired_identity_token, "expired_identity_token"))
    ansible.write(IDENTITY_TOKEN_FILE, ansible.provider.identity_token() + "\n")
    creds = ansible.write("files/creds.yml", "client_id: %s\nclient_secret: %s\nauth_method: client_secret_post\n" % (
        ansible.provider.clients["post"]["client_id"], ansible.secret("post")))
    ansible.vault("encrypt", str(creds))
    for name, source in (("client-key.pem", ansible.provider.client_keys["rsa"]), ("mtls-client-key.pem", ansible.provider.tls.client_key_path)):
        ansible.vault("encrypt", str(ansible.write("files/" + name, source.read_text())))
    dpop_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    ansible.vault("encrypt", str(ansible.write("files/dpop-key.pem", dpop_key)))
    # Characters that each encoding writes differently, so every text form of the canary is a string of its own; "???>>>"
    # puts a "/" and a "+" into its base64 at every offset, so the two base64 alphabets differ too.
    canary = 'canary "\\ +/:@%&=\u00fc ???>>> ' + secrets.token_urlsafe(12)
    ansible.vault("encrypt", str(ansible.write("canary.yml", "canary: %s\n" % json.dumps(canary))))
    temporary = ansible.directory / "tmp"
    temporary.mkdir()
    # Python's temporary files and the module's remote temporary directory (else ~ of the real user) under the test's directory.
    env = {"ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(ansible.directory / "facts"),
           "TMPDIR": str(temporary), "ANSIBLE_REMOTE_TMP": str(temporary / "remote")}
    outputs: Dict[str, bytes] = {}
    for play in (LOOKUP_PLAY, MODULE_PLAY, ROLE_PLAY, API_CALL_PLAY, ASSERTION_PLAY, CANARY_PLAY):
        run = ansible.playbook(play, "-vvvv", "-i", "inventory.ini", env=env)
        assert run.returncode == 0, run.output
        outputs["output of run %d" % ansible.runs] = run.output.encode()
    common = ("-vvvv", "-i", "inventory.ini", "-e", "@vault_creds.yml", "-e", "oauth2_token_url=" + ansible.provider.token_url,
              "-e", "oauth2_ca_path=" + str(ansible.provider.ca_path))
    for playbook in ("oauth2.client_credentials.get_token", "oauth2.client_credentials.call_api"):
        run = ansible.playbook_fqcn(playbook, *common, "-e", "api_url=" + ansible.provider.api_url,
                                    "-e", "api_ca_path=" + str(ansible.provider.ca_path), env=env)
        assert run.returncode == 0, run.output
        outputs["output of run %d" % ansible.runs] = run.output.encode()

    tokens = ansible.provider.issued_tokens()
    proofs = ansible.provider.dpop_proofs()
    # Every assertion the token endpoint received (the identity tokens, and those private_key_jwt and client_secret_jwt
    # signed), and the expired identity token, which never left the controller: each is a credential while it lives.
    assertions = ansible.provider.client_assertions() + [expired_identity_token]
    canary_lines = dict(line.split("\t", 1) for line in (ansible.directory / "canary.txt").read_text().splitlines())
    canary_token = canary_lines["token"]
    assert len(tokens) >= 5 and canary_token in tokens
    values = dict(secret_values(ansible, wrong_secret), canary=canary)
    values.update(("DPoP key line %d" % n, line) for n, line in enumerate(dpop_key.splitlines()[1:-1]) if len(line) >= SHORTEST_VALUE)
    for n, token in enumerate(tokens):
        values.update(token_values("canary token" if token == canary_token else "token %d" % n, token))
    for n, assertion in enumerate(assertions):
        values.update(token_values("client assertion %d" % n, assertion))
    # A proof's header is its public key, which the API answers back (jkt is its thumbprint): the signed payload and signature count.
    for n, proof in enumerate(proofs):
        signed = token_values("DPoP proof %d" % n, proof)
        values.update((name, value) for name, value in signed.items() if not name.endswith(" header"))
    assert min(len(value) for value in values.values()) >= SHORTEST_VALUE
    files = written_files(ansible)
    texts = dict(outputs, **{where: path.read_bytes() for where, path in files.items()})
    texts.update(("canary.txt, line " + name, line.encode()) for name, line in canary_lines.items())
    hits = search(texts, values)

    leaks = sorted(hit for hit in hits if not (hit[0].startswith("canary.txt") and hit[1].startswith("canary")))
    canary_forms = {form for where, value, form in hits if value == "canary" and where == "canary.txt, line " + form}
    token_segments = {value for where, value, form in hits if form == "plain" and where == "canary.txt, line " + value[len("canary "):]}
    logs = [where for where in files if where.startswith("ansible-run-")]
    places = {"fact cache": "facts/", "token cache": ".ansible/oauth2_client_credentials/", "temporary directories": "tmp/"}
    counts = {place: sum(where.startswith(prefix) for where in files) for place, prefix in places.items()}
    with capsys.disabled():
        print("\nsecret-leak suite: %d values (%d client secrets and a wrong one, the vault password, %d private key lines, %d issued "
              "tokens with their payloads and signatures, %d DPoP proofs and %d client assertions with theirs, a DPoP key, a canary) in "
              "%d forms each (%s; each of those also in base64 and URL-safe base64 at offsets 0, 1 and 2), searched in %d outputs, %d run "
              "logs and %d other files (%s), %d bytes in all; found the canary in %d of %d forms and %d of 3 parts of the canary token; "
              "%d leaks%s" % (
                  len(values), len(ansible.client_secrets()), len(ansible.private_key_lines()), len(tokens), len(proofs), len(assertions),
                  len(forms(canary)),
                  ", ".join(text_forms(canary)), len(outputs), len(logs), len(files) - len(logs),
                  ", ".join("%s %d" % item for item in counts.items()), sum(len(data) for data in texts.values()),
                  len(canary_forms), len(forms(canary)), len(token_segments), len(leaks), "".join(
                      "\n  %s: %s as %s" % (where, value, "; ".join(form for place, leaked, form in leaks if (place, leaked) == (where, value)))
                      for where, value in sorted({hit[:2] for hit in leaks}))))
    assert canary_forms == set(forms(canary)), "each form of the canary, found on the line written in that form"
    assert token_segments == {"canary token", "canary token payload", "canary token signature"}
    assert leaks == []
    assert len(logs) == ansible.runs == 8, "every run's log is kept and searched"
    assert len(assertions) >= 5, "identity tokens, and the assertions private_key_jwt signed, were made and searched"
    shown = b"".join(outputs.values())
    assert b"client_assertion expired at" in shown and b"check that the provider trusts this client's assertions" in shown, \
        "the expired and the refused identity token failed as they should, and were searched for in their messages"
    assert len(proofs) >= 10, "DPoP proofs of the token endpoint and the API were made and searched"
    assert counts["fact cache"] and counts["token cache"], "the fact cache and the token cache were written and searched"
