# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks people really write: other oauth2_* variables in scope, roles included every way, short-lived
tokens, credentials from several places, relative paths, and the module's own arguments."""

from __future__ import annotations

import shutil

import pytest
import yaml
from ansible.release import __version__ as ansible_version

from harness import TESTS_DIR

# The ansible-core line that runs the playbooks: the one installed beside this pytest (conftest's BIN).
CORE_LINE = tuple(int(part) for part in ansible_version.split(".")[:2])

# A play on the controller with vault_creds.yml, and the start of a token module task against the provider.
ON_LOCALHOST = """
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
"""
MODULE_TASK = """    - oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
"""


def test_only_the_declared_option_variables_are_read(ansible):
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    ansible.write("other.yml", ansible.encrypt_string(ansible.secret("post"), "post_secret"))
    run = ansible.playbook("""
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  vars:
    oauth2_issuer: "{{ issuer }}"
    oauth2_ca_path: "{{ ca_path }}"
    oauth2_report_to: "{{ report_email }}"  # unrelated, and report_email is undefined
    oauth2_header: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
    oauth2_auth_header: "{{ oauth2_token.authorization }}"
  roles:
    - oauth2.client_credentials.api_token
  tasks:
    - name: A variable named oauth2_* that holds the lookup
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ oauth2_header }}"
      no_log: true
    - name: A variable named oauth2_* that holds the role's token
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ oauth2_auth_header }}"
      no_log: true
    - name: The module with the same variables in scope
      oauth2.client_credentials.token:
        fact_name: ""
      run_once: true

- hosts: localhost
  gather_facts: false
  vars_files: [other.yml]
  vars:
    oauth2_client_secret: "{{ secret_of_another_client }}"  # undefined, but the keyword wins and it is never read
  tasks:
    - ansible.builtin.debug:
        msg: "post client: {{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path, output='full',
                                     client_id=post_client_id, client_secret=post_secret,
                                     auth_method='client_secret_post').claims.client_id }}"
""", "-i", "inventory.ini")
    assert run.returncode == 0, run.output
    assert ansible.provider.api_stats() == {"calls": 8, "rejected": 0}
    assert "post client: cc-post-client" in run.output
    assert run.tokens() == set()
    ansible.assert_no_secrets(run)


ROLE_SHAPES = {
    "roles with when": """
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  roles:
    - role: oauth2.client_credentials.api_token
      when: inventory_hostname != 'host1'
""",
    "import_role with when": """
- hosts: app
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - ansible.builtin.import_role:
        name: oauth2.client_credentials.api_token
      when: inventory_hostname != 'host1'
""",
    "strategy free": """
- hosts: app
  gather_facts: false
  strategy: free
  vars_files: [vault_creds.yml]
  roles:
    - role: oauth2.client_credentials.api_token
      when: inventory_hostname != 'host1'
""",
}


@pytest.mark.parametrize("shape", ROLE_SHAPES)
def test_role_gives_a_token_to_every_host_that_asked(ansible, shape):
    ansible.write_inventory()
    ansible.write_vaulted_variables()
    run = ansible.playbook(ROLE_SHAPES[shape] + """
  post_tasks:
    - name: Hosts that asked have a token the API accepts; host1 did not ask
      ansible.builtin.uri:
        url: "{{ api_url }}"
        ca_path: "{{ ca_path }}"
        headers:
          Authorization: "{{ oauth2_token.authorization }}"
      when: inventory_hostname != 'host1'
      no_log: true
    - ansible.builtin.assert:
        that: oauth2_token is not defined
        quiet: true
      when: inventory_hostname == 'host1'
""", "-i", "inventory.ini", "-e", "oauth2_issuer=" + ansible.provider.issuer, "-e", "oauth2_ca_path=" + str(ansible.provider.ca_path))
    assert run.returncode == 0, run.output
    assert ansible.provider.api_stats() == {"calls": 3, "rejected": 0}
    assert ansible.provider.token_requests() == 1, "the token cache keeps it to one request"
    ansible.assert_no_secrets(run)


def test_role_and_cache_agree_on_short_lived_tokens(ansible):
    """5 s tokens and min_ttl 2: the cache would reuse a token until 0.5 s before expiry, the role must never get one
    with 2 s or less left."""
    ansible.write_vaulted_variables("shortlived")
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  vars:
    oauth2_token_url: "{{ token_url }}"
    oauth2_ca_path: "{{ ca_path }}"
    api_token_min_ttl: 2
  tasks:
    - name: The role every 1.2 s for about two token lifetimes
      ansible.builtin.include_role:
        name: oauth2.client_credentials.api_token
      loop: "{{ range(8) | list }}"
      loop_control:
        pause: 1.2
    - ansible.builtin.debug:
        msg: all role runs passed
""")
    assert run.returncode == 0, run.output
    assert "all role runs passed" in run.output
    ansible.assert_no_secrets(run)


def refused_setup(ansible):
    """The id from the environment, the secret (of another client) from a vault-encrypted credentials_file."""
    basic = ansible.provider.clients["basic"]
    creds = ansible.write("files/creds.yml", "client_id: %s\nclient_secret: %s\n" % (basic["client_id"], basic["client_secret"]))
    ansible.vault("encrypt", str(creds))
    return {"ANSIBLE_OAUTH2_CLIENT_ID": ansible.provider.clients["post"]["client_id"]}


def test_refused_client_says_where_id_and_secret_came_from(ansible):
    env = refused_setup(ansible)
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Lookup
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', credentials_file='creds.yml', token_url=token_url, ca_path=ca_path) }}"
      ignore_errors: true
    - name: Module
      oauth2.client_credentials.token:
        credentials_file: creds.yml
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
      ignore_errors: true
""", env=env)
    assert run.returncode == 0, run.output
    output = " ".join(run.output.split())
    origins = ("(client_id came from environment variable ANSIBLE_OAUTH2_CLIENT_ID, client_secret from credentials_file %s.)"
               % (ansible.directory / "files" / "creds.yml"))
    assert "invalid_client" in output and output.count(origins) >= 2, run.output
    assert 'client_secret_post %s", "oauth2_error": "invalid_client"}' % origins in output, "the module's line too"
    warning = ("credentials_file %s sets client_id, but the value from environment variable ANSIBLE_OAUTH2_CLIENT_ID is used"
               % (ansible.directory / "files" / "creds.yml"))
    # Before ansible-core 2.19 warnings are wrapped at 80 columns, and a path may break after any hyphen in it.
    assert "".join(warning.split()) in "".join(output.split()), run.output
    ansible.assert_no_secrets(run)


def test_ansible_cfg_sets_every_option_but_the_secret(ansible):
    """[oauth2_client_credentials] of an ansible.cfg named by ANSIBLE_CONFIG: its options are used by the lookup and the
    module, a client_secret there is never read (secrets have no ansible.cfg source), and a refusal names the file."""
    client = ansible.provider.clients["basic"]
    config = ansible.write("ansible.cfg", "[oauth2_client_credentials]\ntoken_url = %s\nca_path = %s\nclient_id = %s\nscope = read\n"
                           "client_secret = %s\n" % (ansible.provider.token_url, ansible.provider.ca_path, client["client_id"], client["client_secret"]))
    ansible.write("secret.yml", ansible.encrypt_string(client["client_secret"], "vault_secret"))
    run = ansible.playbook("""
- hosts: localhost
  gather_facts: false
  vars_files: [secret.yml]
  tasks:
    - name: Without a secret from elsewhere
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token') }}"
      ignore_errors: true
      register: unread
    - name: The secret from a variable, everything else from ansible.cfg
      oauth2.client_credentials.token:
        fact_name: ""
      vars:
        oauth2_client_secret: "{{ vault_secret }}"
      register: obtained
    - name: A wrong secret
      ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', client_secret='Wrong-' ~ vault_secret) }}"
      ignore_errors: true
      register: refused
    - ansible.builtin.debug:
        msg: "{{ item }}"
      loop:
        - "unread: {{ unread.msg }}"
        - "obtained: {{ obtained.token.claims.client_id }} {{ obtained.token.scope }}"
        - "refused: {{ refused.msg }}"
""", env={"ANSIBLE_CONFIG": str(config)})
    assert run.returncode == 0, run.output
    assert ("ansible.cfg %s sets client_secret in [oauth2_client_credentials], where it is never read (no secret belongs in ansible.cfg): "
            "give it as a vault-encrypted oauth2_client_secret variable" % config) in " ".join(run.output.split()), run.output
    assert '"msg": "obtained: %s read"' % client["client_id"] in run.output
    assert "invalid_client" in run.output and (
        "(client_id came from ansible.cfg %s, client_secret from the task's arguments.)" % config) in run.output, run.output
    assert ansible.provider.token_requests() == 2, "the module's, and the refused one"
    ansible.assert_no_secrets(run)


def test_module_refuses_a_fact_name_that_is_no_variable_name(ansible):
    ansible.write_vaulted_variables()
    run = ansible.playbook(ON_LOCALHOST + MODULE_TASK + """        fact_name: "{{ item }}"
      loop: [my-token, 1tok, class]
      ignore_errors: true
""")
    assert run.returncode == 0, run.output
    for name in ("my-token", "1tok", "class"):
        assert "fact_name '%s' is not a valid variable name" % name in run.output, run.output
    assert ansible.provider.token_requests() == 0


def test_module_result_is_hidden_unless_the_task_says_no_log_false(ansible):
    ansible.write_vaulted_variables()
    run = ansible.playbook(ON_LOCALHOST + """
    - name: Hidden by default
      oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        fact_name: ""
    - name: Shown when asked for
      oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: "{{ ca_path }}"
        fact_name: ""
      no_log: false
""", "-v")
    assert run.returncode == 0, run.output
    hidden, shown = run.output.split("TASK [Shown when asked for]")
    assert "the output has been hidden" in hidden and '"token_type": "Bearer"' not in hidden
    assert "the output has been hidden" not in shown and '"token_type": "Bearer"' in shown
    ansible.assert_no_secrets(run)


def test_relative_ca_path_is_searched_like_files(ansible):
    ansible.write_vaulted_variables()
    ansible.write("site/files/provider-ca.pem", ansible.provider.ca_path.read_text())
    shutil.move(str(ansible.directory / "vault_creds.yml"), str(ansible.directory / "site" / "vault_creds.yml"))
    ansible.write("site/play.yml", """
- hosts: localhost
  gather_facts: false
  vars_files: [vault_creds.yml]
  tasks:
    - ansible.builtin.debug:
        msg: "lookup: {{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path='provider-ca.pem', output='full').token_type }}"
    - oauth2.client_credentials.token:
        token_url: "{{ token_url }}"
        ca_path: provider-ca.pem
        cache: false
        fact_name: ""
      register: module
    - ansible.builtin.debug:
        msg: "module: {{ module.token.token_type }}"
""")
    run = ansible.playbook_fqcn("site/play.yml")
    assert run.returncode == 0, run.output
    assert "lookup: Bearer" in run.output and "module: Bearer" in run.output
    assert ansible.provider.token_requests() == 2


def test_module_cache_dir_home_is_the_home_where_the_module_runs(ansible):
    ansible.write_vaulted_variables()
    elsewhere = ansible.directory / "module-home"
    elsewhere.mkdir()
    run = ansible.playbook(ON_LOCALHOST + MODULE_TASK + """        cache_dir: ~/tokens
      environment:
        HOME: "%s"
""" % elsewhere)
    assert run.returncode == 0, run.output
    assert len(list((elsewhere / "tokens").iterdir())) >= 1
    assert not (ansible.directory / "tokens").exists()


def test_role_argument_spec_lists_every_option(ansible):
    fragment = (TESTS_DIR.parent / "plugins" / "doc_fragments" / "token_options.py").read_text()
    documentation = fragment.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0]
    options = yaml.safe_load(documentation)["options"]
    result = ansible.command(["ansible-doc", "-t", "role", "oauth2.client_credentials.api_token"])
    assert result.returncode == 0, result.stderr
    missing = [name for name in options if "oauth2_" + name not in result.stdout]
    assert missing == []


def test_loop_label_keeps_secrets_of_loop_items_out_of_a_failure(ansible):
    """ansible-core prints a failing loop item; the README's advice, loop_control.label, keeps the secret out."""
    wrong = "Wrong-" + ansible.secret("basic")
    ansible.write("clients.yml", "clients:\n  - name: api\n    id: %s\n%s" % (
        ansible.provider.clients["basic"]["client_id"], "\n".join(
            "    " + line for line in ansible.encrypt_string(wrong, "secret").splitlines())))
    play = """
- hosts: localhost
  gather_facts: false
  vars_files: [clients.yml]
  tasks:
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', token_url=token_url, ca_path=ca_path,
                        client_id=item.id, client_secret=item.secret) | length }}"
      loop: "{{ clients }}"
%s"""
    # Before ansible-core 2.19 a lookup error fails the whole task before any item is shown: no label, no secret.
    shows_items = CORE_LINE >= (2, 19)
    labelled = ansible.playbook(play % "      loop_control:\n        label: \"{{ item.name }}\"\n")
    assert labelled.returncode == 2 and ("(item=api)" in labelled.output) == shows_items and "invalid_client" in labelled.output
    ansible.assert_no_secrets(labelled, wrong)
    unlabelled = ansible.playbook(play % "")
    assert unlabelled.returncode == 2
    if CORE_LINE >= (2, 22):
        # The item shows, its secret masked: vault plaintext and the credentials the lookup was given are registered.
        assert "'secret': '$REDACTED$'" in unlabelled.output
        ansible.assert_no_secrets(unlabelled, wrong)
    else:
        assert (wrong in unlabelled.output) == shows_items, "the exception the README documents"
