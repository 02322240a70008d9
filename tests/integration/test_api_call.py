# SPDX-License-Identifier: GPL-3.0-or-later
"""The api_call module against the real provider and the test API: bearer and DPoP-bound tokens, one token request
for a play of many hosts, one fresh token on a 401 and never a loop, and nothing of a token, proof or key in the output."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

HOSTS = ("host1", "host2", "host3", "host4")
# The module's Python on targets: the oldest make tests (OAUTH2_TEST_TARGET_PYTHON), else the controller's.
TARGET_PYTHON = os.environ.get("OAUTH2_TEST_TARGET_PYTHON") or sys.executable


def play(task: str, hosts: str = "app", pre_tasks: str = "") -> str:
    """A play of the fleet with the vault-encrypted basic client's credentials, and task (YAML, indented as a task)."""
    return """
- hosts: %s
  gather_facts: false
  vars_files: [vault_creds.yml]
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    api_base: "{{ api_url | regex_replace('/whoami$', '') }}"
  tasks:%s
%s""" % (hosts, pre_tasks, task)


def jwk_thumbprint(private_key: ec.EllipticCurvePrivateKey) -> str:
    """RFC 7638, computed here independently of the collection."""
    numbers = private_key.public_key().public_numbers()
    size = (private_key.curve.key_size + 7) // 8
    members = {"crv": "P-%d" % private_key.curve.key_size, "kty": "EC", "x": base64url(numbers.x.to_bytes(size, "big")),
               "y": base64url(numbers.y.to_bytes(size, "big"))}
    return base64url(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest())


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def answers(run) -> list:
    """What the SHOW tasks printed, in order: (host, status, refreshed, changed, the answer's JSON)."""
    return [(host, int(status), refreshed, changed, json.loads(json.loads('"%s"' % body))) for host, status, refreshed, changed, body
            in re.findall(r'^ok: \[([\w]+)\] => \{\s+"msg": "status=(\d+) refreshed=(\w+) changed=(\w+) json=(.*)"\n\}', run.output, re.M)]


SHOW = """
    - ansible.builtin.debug:
        msg: "status={{ answer.status }} refreshed={{ answer.token_refreshed }} changed={{ answer.changed }} json={{ answer.json | to_json }}"
"""


@pytest.mark.parametrize("dpop", [False, True], ids=["bearer", "dpop"])
def test_every_host_calls_the_api_with_one_token_request(ansible, dpop):
    ansible.write_inventory()
    ansible.write_vaulted_variables("dpop" if dpop else "basic")
    run = ansible.playbook(play("""
    - name: Every host calls the API; the DPoP endpoint wants the API's own nonce too
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/%s"
        api_ca_path: "{{ ca_path }}"
        scope: [read]
        dpop: %s
      register: answer
""" % ("nonce/whoami" if dpop else "whoami", str(dpop).lower()) + SHOW), "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    seen = answers(run)
    assert sorted(answer[0] for answer in seen) == list(HOSTS), run.output
    client_id = ansible.provider.clients["dpop" if dpop else "basic"]["client_id"]
    for _host, status, refreshed, changed, body in seen:
        assert (status, refreshed, changed) == (200, "False", "False")
        assert body["client_id"] == client_id and body["token_type"] == ("DPoP" if dpop else "Bearer")
    assert len(ansible.provider.issued_tokens()) == 1, "one token for the play, from the controller's cache"
    stats = ansible.provider.api_stats(dpop=True)
    if dpop:
        # One key for every host: the one generated with the token and cached beside it.
        assert len({answer[-1]["jkt"] for answer in seen}) == 1
        assert ansible.provider.dpop_nonce_challenges() == 1 and ansible.provider.token_requests() == 2
        assert stats["dpop_calls"] == 4 and stats["nonce_challenges"] == 4, "each host answered the API's nonce once"
    else:
        assert ansible.provider.token_requests() == 1 and stats["calls"] == 4 and stats["rejected"] == 0
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)


def test_a_dpop_key_of_ones_own_from_a_vault_encrypted_file(ansible):
    ansible.write_vaulted_variables("dpop")
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    ansible.vault("encrypt", str(ansible.write("files/dpop-key.pem", pem)))
    run = ansible.playbook(play("""
    - oauth2.client_credentials.api_call:
        url: "{{ api_base }}/nonce/whoami"
        api_ca_path: "{{ ca_path }}"
        dpop: true
        dpop_private_key_path: dpop-key.pem
      register: answer
""" + SHOW, hosts="localhost"), "-vvvv")
    assert run.returncode == 0, run.output
    assert [answer[-1]["jkt"] for answer in answers(run)] == [jwk_thumbprint(key)]
    for line in pem.splitlines()[1:-1]:
        assert line not in run.everything
    assert run.tokens() == set()


@pytest.mark.parametrize("dpop", [False, True], ids=["bearer", "dpop"])
def test_a_revoked_cached_token_is_replaced_once(ansible, dpop):
    ansible.write_vaulted_variables("dpop" if dpop else "basic")
    call = """
    - name: %s
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/whoami"
        api_ca_path: "{{ ca_path }}"
        dpop: %s
      register: answer
""" + SHOW
    run = ansible.playbook(play(call % ("Fills the cache", str(dpop).lower()) + """
    - name: The provider revokes every token it issued
      ansible.builtin.uri:
        url: "{{ api_base }}/_test/revoke"
        method: POST
        ca_path: "{{ ca_path }}"
""" + call % ("Refused, then called again with a fresh token", str(dpop).lower()) + call % ("The fresh token from the cache", str(dpop).lower()),
        hosts="localhost"))
    assert run.returncode == 0, run.output
    assert [answer[1:3] for answer in answers(run)] == [(200, "False"), (200, "True"), (200, "False")], run.output
    assert len(ansible.provider.issued_tokens()) == 2
    stats = ansible.provider.api_stats()
    assert stats == {"calls": 4, "rejected": 1}
    assert run.tokens() == set()


def test_an_api_that_always_refuses_costs_at_most_one_fresh_token(ansible):
    ansible.write_vaulted_variables()
    refused = """
    - name: %s
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/always-401"
        api_ca_path: "{{ ca_path }}"
      register: answer
      ignore_errors: true
    - ansible.builtin.debug:
        msg: "{{ answer.msg }} | refreshed {{ answer.token_refreshed }} | status {{ answer.status }}"
"""
    run = ansible.playbook(play(refused % "A token obtained just now is not refreshed" + refused % "A cached token is refreshed once",
                                hosts="localhost"))
    assert run.returncode == 0, run.output
    lines = re.findall(r'"msg": "(API .*?)"\n', run.output)
    url = ansible.provider.api_base + "/always-401"
    assert lines == [
        "API %s refused the token with HTTP 401 (invalid_token: the test API refuses every token) although the token was obtained "
        "just now: check that the client's scope, resource or audience grant access to this API. | refreshed False | status 401" % url,
        "API %s refused the token with HTTP 401 (invalid_token: the test API refuses every token) again with a fresh token: check "
        "that the client's scope, resource or audience grant access to this API. | refreshed True | status 401" % url,
    ], run.output
    assert len(ansible.provider.issued_tokens()) == 2 and ansible.provider.api_stats()["calls"] == 3
    assert run.tokens() == set()


def test_bodies_methods_statuses_and_check_mode(ansible):
    ansible.write_vaulted_variables()
    run = ansible.playbook(play("""
    - name: JSON
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/echo?status=201"
        api_ca_path: "{{ ca_path }}"
        method: post
        body: {name: web01, tags: [prod, eu], port: 8443}
        body_format: json
        status_code: [200, 201]
      register: created
    - name: A form, with headers of one's own
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/echo"
        api_ca_path: "{{ ca_path }}"
        method: PUT
        body: {name: web 01, tag: [a, b], enabled: true}
        body_format: form-urlencoded
        headers: {X-Request-Id: abc-123}
        return_content: true
      register: put
    - name: A status the task does not expect fails with one line and the answer
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/echo?status=404"
        api_ca_path: "{{ ca_path }}"
      register: missing
      ignore_errors: true
    - name: Not sent in check mode
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/echo"
        api_ca_path: "{{ ca_path }}"
        method: DELETE
      check_mode: true
      register: checked
    - ansible.builtin.assert:
        that:
          - created.status == 201 and created.changed
          - created.json.method == 'POST' and created.json.content_type == 'application/json'
          - (created.json.body | from_json) == dict(name='web01', tags=['prod', 'eu'], port=8443)
          - created.content is not defined
          - put.json.body == 'name=web+01&tag=a&tag=b&enabled=true'
          - put.json.content_type == 'application/x-www-form-urlencoded'
          - put.content | from_json == put.json and put.headers['content-type'] is match('application/json')
          - missing.failed and missing.status == 404 and missing.json.method == 'GET' and not missing.changed
          - missing.msg == 'API ' ~ api_base ~ '/echo?status=404 answered HTTP 404, not 200 as status_code expects.'
          - checked.changed and checked.status is not defined
""", hosts="localhost"), "-e", "ansible_python_interpreter=" + TARGET_PYTHON)
    assert run.returncode == 0, run.output
    assert ansible.provider.api_stats()["calls"] == 3, "the check-mode DELETE was not sent"
    assert run.tokens() == set()


def test_the_lookup_and_the_token_module_obtain_dpop_tokens_that_api_call_reuses(ansible):
    ansible.write_inventory()
    ansible.write_vaulted_variables("dpop")
    run = ansible.playbook(play("""
    - name: The lookup's header names the DPoP scheme; the token and its key go to the controller's cache
      ansible.builtin.assert:
        that: lookup('oauth2.client_credentials.token', dpop=true, output='header') is match('DPoP eyJ')
        quiet: true
      run_once: true
    - name: The module too, on the target, with its own cache; its result has no key
      oauth2.client_credentials.token:
        dpop: true
        cache: false
        fact_name: ""
      register: obtained
      run_once: true
    - ansible.builtin.assert:
        that:
          - obtained.token.token_type == 'DPoP' and obtained.token.authorization is match('DPoP ')
          - obtained.token.keys() | sort == ['access_token', 'authorization', 'claims', 'claims_verified', 'expires_at', 'expires_in', 'scope', 'token_type']
        quiet: true
      run_once: true
    - name: Every host calls the API with the lookup's token and key
      oauth2.client_credentials.api_call:
        url: "{{ api_base }}/whoami"
        api_ca_path: "{{ ca_path }}"
        dpop: true
      register: answer
""" + SHOW), "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    assert len(ansible.provider.issued_tokens()) == 2, "the lookup's, then the module's without a cache; api_call took the lookup's"
    assert len({answer[-1]["jkt"] for answer in answers(run)}) == 1 and len(answers(run)) == 4
    assert run.tokens() == set()
