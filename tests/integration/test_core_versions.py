"""What the version matrix of make test varies: the target's Python, and whether facts are also injected as variables."""

from __future__ import annotations

import os
import subprocess

import pytest

# The oldest Python that every supported ansible-core line accepts on targets and that requirements.txt installs on.
TARGET_PYTHON = os.environ.get("OAUTH2_TEST_TARGET_PYTHON", "")


@pytest.mark.skipif(not TARGET_PYTHON, reason="OAUTH2_TEST_TARGET_PYTHON (set by make) names no target Python")
def test_module_on_the_oldest_target_python(ansible):
    ansible.write_vaulted_variables()
    ansible.write("inventory.ini", "[app]\nold ansible_connection=local ansible_python_interpreter=%s\n" % TARGET_PYTHON)
    run = ansible.playbook("""
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - ansible.builtin.setup:
        gather_subset: [min]
    - oauth2.client_credentials.token:
        issuer: "{{ issuer }}"
        ca_path: "{{ ca_path }}"
    - ansible.builtin.debug:
        msg: "Python {{ ansible_facts.python_version }} got a {{ ansible_facts.oauth2_token.token_type }} token"
""", "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    version = subprocess.run([TARGET_PYTHON, "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    assert "Python %s got a Bearer token" % version in run.output
    ansible.assert_no_secrets(run)


def test_fact_is_read_as_ansible_facts_whether_or_not_it_is_also_a_variable(ansible):
    injected = os.environ.get("ANSIBLE_INJECT_FACT_VARS", "true").lower() not in ("false", "no", "0", "off")
    ansible.write_vaulted_variables()
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - oauth2.client_credentials.token:
        issuer: "{{ issuer }}"
        ca_path: "{{ ca_path }}"
    - ansible.builtin.debug:
        msg: "fact {{ ansible_facts.oauth2_token.token_type }}, variable {{ oauth2_token is defined }}"
""")
    assert run.returncode == 0, run.output
    assert "fact Bearer, variable %s" % injected in run.output


def test_the_tarball_installs_and_runs_on_this_line_without_a_version_override(ansible, collections_path):
    """ansible-galaxy enforces requires_ansible since 2.21, and every play warns about a collection outside its range."""
    tarball = next((collections_path.parent / "build").glob("oauth2-client_credentials-*.tar.gz"))
    fresh = {"ANSIBLE_COLLECTIONS_PATH": str(ansible.directory / "fresh")}
    installed = ansible.command(["ansible-galaxy", "collection", "install", str(tarball), "-p", fresh["ANSIBLE_COLLECTIONS_PATH"]], env=fresh)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    version = tarball.name[len("oauth2-client_credentials-"):-len(".tar.gz")]
    assert "oauth2.client_credentials:%s was installed successfully" % version in installed.stdout
    ansible.write_vaulted_variables()
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', issuer=issuer, ca_path=ca_path, output='full').token_type }}"
""", env=fresh)
    assert run.returncode == 0, run.output
    assert "does not support Ansible version" not in run.everything
    assert '"msg": "Bearer"' in run.output
