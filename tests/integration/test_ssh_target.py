# SPDX-License-Identifier: GPL-3.0-or-later
"""The token module on a host reached over ssh, where the connection plugin itself could show the module's raw output."""

from __future__ import annotations

import os
import shlex
import sys

import pytest

from ssh_server import free_port

# Set by make: the oldest target Python; the controller's own otherwise.
TARGET_PYTHON = os.environ.get("OAUTH2_TEST_TARGET_PYTHON") or sys.executable
PLAYBOOK = """
- hosts: ssh_target
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - name: A token obtained on the target
      oauth2.client_credentials.token:
        issuer: "{{ issuer }}"
        ca_path: "{{ ca_path }}"
        cache_dir: "{{ playbook_dir }}/not-a-directory"
      register: obtained
    - ansible.builtin.assert:
        that: obtained.token.claims.client_id == basic_client_id
        quiet: true
"""


def unwrap(text: str) -> str:
    """Without whitespace: older ansible-core wraps warnings, even inside long paths."""
    return "".join(text.split())


def write_ssh_inventory(ansible, server, port: int, pipelining: bool = False) -> None:
    """Host ssh_target, reached over ssh as the user running the tests, with the test server's key and host key."""
    variables = {
        "ansible_connection": "ssh",
        "ansible_host": "127.0.0.1",
        "ansible_port": str(port),
        "ansible_user": server.user,
        "ansible_ssh_private_key_file": str(server.client_key_path),
        # No ControlPersist master outliving the play.
        "ansible_ssh_args": "-o ControlMaster=no",
        "ansible_ssh_common_args": shlex.join(server.client_options()),
        "ansible_ssh_use_tty": str(server.tty).lower(),
        "ansible_pipelining": str(pipelining).lower(),
        "ansible_python_interpreter": TARGET_PYTHON,
        # Kept out of the home directory of the user, who is root in CI.
        "ansible_remote_tmp": str(ansible.directory / "remote-tmp"),
    }
    ansible.write("inventory.ini", "ssh_target %s\n" % " ".join("%s=%s" % (name, shlex.quote(value)) for name, value in variables.items()))


@pytest.mark.parametrize("pipelining", [False, True], ids=["files", "pipelining"])
def test_token_never_shown_at_vvv_over_ssh(ansible, ssh_server, pipelining):
    ansible.write_vaulted_variables()
    # The module itself warns that this cache_dir is no directory: its own warnings must still reach the user.
    not_a_directory = ansible.write("not-a-directory", "")
    write_ssh_inventory(ansible, ssh_server, ssh_server.port, pipelining)
    run = ansible.playbook(PLAYBOOK, "-i", "inventory.ini", "-vvv")
    assert run.returncode == 0, run.output
    assert "ESTABLISH SSH CONNECTION FOR USER: %s" % ssh_server.user in run.output and "SSH: EXEC ssh" in run.output
    issued = ansible.provider.issued_tokens()
    assert len(issued) == 1
    unwrapped = unwrap(run.everything)
    for token in issued:
        for part in token.split(".")[1:]:
            assert part not in unwrapped, "the token's claims or signature show in the output or the log"
    assert run.tokens() == set()
    assert "the output has been hidden due to the fact that 'no_log: true' was specified for this result" in run.output
    assert unwrap(run.output).count(unwrap("[WARNING]: Token cache not used: the token cache directory %s is not a directory" % not_a_directory)) == 1
    ansible.assert_no_secrets(run)


def test_unreachable_host_says_why_its_error_is_hidden(ansible, ssh_server):
    ansible.write_vaulted_variables()
    write_ssh_inventory(ansible, ssh_server, free_port())
    run = ansible.playbook(PLAYBOOK, "-i", "inventory.ini", "-vvv")
    assert run.returncode == 4, run.output
    assert "UNREACHABLE!" in run.output
    assert unwrap("The host could not be reached to run the token module, and the connection's own message is hidden during this module "
                  "because the module's raw output carries the token: check the connection, for example with ansible.builtin.ping") in unwrap(run.output)
    assert ansible.provider.issued_tokens() == []
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)


@pytest.mark.parametrize("pipelining", [False, True], ids=["files", "pipelining"])
def test_api_call_over_ssh_shows_no_token_proof_or_key_at_vvvv(ansible, ssh_server, pipelining):
    """The request runs on the target with credentials the controller made: its arguments travel over ssh."""
    ansible.write_vaulted_variables("dpop")
    write_ssh_inventory(ansible, ssh_server, ssh_server.port, pipelining)
    run = ansible.playbook("""
- hosts: ssh_target
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - name: A DPoP-bound token, the API's nonce answered, the request made on the target
      oauth2.client_credentials.api_call:
        url: "{{ api_url | regex_replace('/whoami$', '/nonce/whoami') }}"
        api_ca_path: "{{ ca_path }}"
        issuer: "{{ issuer }}"
        ca_path: "{{ ca_path }}"
        dpop: true
      register: answer
    - ansible.builtin.assert:
        that: answer.json.token_type == 'DPoP' and answer.json.client_id == dpop_client_id
        quiet: true
""", "-i", "inventory.ini", "-vvvv")
    assert run.returncode == 0, run.output
    assert "SSH: EXEC ssh" in run.output
    secrets = ansible.provider.issued_tokens() + ansible.provider.dpop_proofs()
    assert len(secrets) == 1 + 4, "one token; proofs: the provider's challenge and answer, the API's challenge and answer"
    unwrapped = unwrap(run.everything)
    for secret in secrets:
        for part in secret.split(".")[1:]:
            assert part not in unwrapped, "a token's or a proof's claims or signature show in the output or the log"
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)
