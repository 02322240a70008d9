# SPDX-License-Identifier: GPL-3.0-or-later
"""The token action plugin on the controller: what it hands the module, and how it marks the result.

Only the remote execution of the module is replaced; option resolution, vault decryption and result
handling are the plugin's own code running against Ansible's real loader and templar.
"""

from __future__ import annotations

import re
import time

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

from ansible_collections.oauth2.client_credentials.plugins.action.token import ActionModule

SECRET = "action-Secret-Value-7"
VAULT_PASSWORD = b"action-vault-password"
TOKEN_RESULT = {"access_token": "tok-xyz", "token_type": "Bearer", "expires_in": 600, "expires_at": 1, "scope": None,
                "authorization": "Bearer tok-xyz", "claims": {}}


class ModuleStandIn(ActionModule):
    """Records the arguments the module would receive instead of running it on a host."""

    module_result: dict = {}

    def _execute_module(self, module_name=None, module_args=None, *args, **kwargs):  # pylint: disable=keyword-arg-before-vararg
        self.sent = (module_name, module_args)
        return dict(self.module_result)


def stand_in(args, module_result=None, vault_password=None):
    loader = DataLoader()
    if vault_password:
        loader.set_vault_secrets([("default", VaultSecret(vault_password))])
    task = Task()
    task.args = args
    task.action = "oauth2.client_credentials.token"
    play_context = PlayContext()
    action = ModuleStandIn(task, connection=connection_loader.get("local", play_context), play_context=play_context, loader=loader,
                           templar=Templar(loader=loader), shared_loader_obj=None)
    action.module_result = module_result if module_result is not None else {"changed": False, "token": TOKEN_RESULT}
    return action


def run_action(args, task_vars=None, module_result=None, vault_password=None):
    action = stand_in(args, module_result, vault_password)
    result = action.run(task_vars=task_vars or {})
    return action.sent, result


# What the module returns, and that register keeps the token, are shown by real module runs: test_module.py's
# test_register_check_mode_and_module_defaults_group and test_module_facts_on_several_hosts_with_one_request, and the
# refusals of test_auth_methods.py and test_playbook_shapes.py. Here only what the action plugin itself decides.
def test_successful_result_is_censored():
    sent, result = run_action({"token_url": "https://idp/token", "client_id": "c", "client_secret": SECRET})
    assert sent[0] == "oauth2.client_credentials.token"
    assert result["_ansible_no_log"] is True


def test_failed_result_is_not_censored_so_the_message_shows():
    result = run_action({"token_url": "https://idp/token", "client_id": "c", "client_secret": SECRET},
                        module_result={"failed": True, "msg": "HTTP 401 invalid_client"})[1]
    assert "_ansible_no_log" not in result


def test_vault_encrypted_credentials_file_is_decrypted_on_the_controller(tmp_path):
    vault = VaultLib([("default", VaultSecret(VAULT_PASSWORD))])
    creds = tmp_path / "creds.yml"
    creds.write_bytes(vault.encrypt("client_id: file-id\nclient_secret: %s\nscope: [read]\n" % SECRET))
    args = run_action({"token_url": "https://idp/token", "credentials_file": str(creds), "fact_name": "api"},
                      vault_password=VAULT_PASSWORD)[0][1]
    assert (args["client_id"], args["client_secret"], args["scope"], args["fact_name"]) == ("file-id", SECRET, ["read"], "api")
    assert "credentials_file" not in args


def test_oauth2_variables_and_environment_are_read_like_the_lookup(monkeypatch):
    monkeypatch.setenv("ANSIBLE_OAUTH2_CLIENT_ID", "env-id")
    monkeypatch.setenv("ANSIBLE_OAUTH2_TIMEOUT", "3")
    args = run_action({}, task_vars={"oauth2_token_url": "https://idp/token", "oauth2_client_secret": SECRET})[0][1]
    assert (args["token_url"], args["client_id"], args["client_secret"], args["timeout"]) == ("https://idp/token", "env-id", SECRET, 3.0)


def test_unknown_argument_fails_before_anything_runs():
    with pytest.raises(AnsibleActionFail, match=r"^Unknown option colour for the oauth2.client_credentials.token module: the options are audience, ") as caught:
        run_action({"token_url": "https://idp/token", "colour": "blue"})
    assert "exception" not in caught.value.result, "a refused option is no crash: no traceback in the task result"
    assert ", fact_name, " in str(caught.value), "the module's own argument is one of its options"


def test_a_misspelt_argument_gets_a_suggestion():
    with pytest.raises(AnsibleActionFail, match=r"^Unknown option scpoe for the oauth2.client_credentials.token module \(did you mean scope\?\)"):
        run_action({"token_url": "https://idp/token", "scpoe": ["read"]})


def test_refusal_says_where_the_credentials_came_from(monkeypatch):
    monkeypatch.setenv("ANSIBLE_OAUTH2_CLIENT_SECRET", SECRET)
    result = run_action({"token_url": "https://idp/token", "client_id": "c"},
                        module_result={"failed": True, "msg": "HTTP 401 invalid_client.", "oauth2_error": "invalid_client"})[1]
    assert result["msg"] == ("HTTP 401 invalid_client (client_id came from the task's arguments, "
                             "client_secret from environment variable ANSIBLE_OAUTH2_CLIENT_SECRET.)")


def test_overridden_credentials_file_values_are_a_warning(tmp_path):
    creds = tmp_path / "creds.yml"
    creds.write_text("client_id: file-id\nclient_secret: %s\n" % SECRET)
    sent, result = run_action({"token_url": "https://idp/token", "credentials_file": str(creds)}, task_vars={"oauth2_client_id": "var-id"})
    assert sent[1]["client_id"] == "var-id"
    assert result["warnings"] == ["credentials_file %s sets client_id, but the value from variable oauth2_client_id is used, "
                                  "which takes precedence: remove one of them if that is not what you meant." % creds]


def test_explicit_no_log_false_on_the_task_shows_the_result():
    loader = DataLoader()
    task = Task.load({"oauth2.client_credentials.token": {"token_url": "https://idp/token", "client_id": "c", "client_secret": SECRET},
                      "no_log": False}, loader=loader)
    play_context = PlayContext()
    action = ModuleStandIn(task, connection=connection_loader.get("local", play_context), play_context=play_context, loader=loader,
                           templar=Templar(loader=loader), shared_loader_obj=None)
    action.module_result = {"changed": False, "token": TOKEN_RESULT}
    assert "_ansible_no_log" not in action.run(task_vars={})


def test_alias_bomb_in_credentials_file_is_refused_before_the_module_is_called(tmp_path):
    """Nine levels of nine aliases: a few hundred bytes of YAML, 9**9 strings once serialised for the module."""
    levels = ["  l0: &l0 [a, a, a, a, a, a, a, a, a]"] + [
        "  l%d: &l%d [%s]" % (level, level, ", ".join(["*l%d" % (level - 1)] * 9)) for level in range(1, 9)]
    bomb = tmp_path / "creds.yml"
    bomb.write_text("client_id: c\nclient_secret: %s\nextra_params:\n%s\n" % (SECRET, "\n".join(levels)))
    action = stand_in({"token_url": "https://idp/token", "credentials_file": str(bomb)})
    started = time.monotonic()
    with pytest.raises(AnsibleActionFail, match=r"extra_params\['l1'\] must be a string, number, boolean or list of those") as caught:
        action.run(task_vars={})
    assert not hasattr(action, "sent") and SECRET not in str(caught.value)
    # It takes well under a second; walking the 9**9 expanded strings takes half a minute on an idle machine.
    assert time.monotonic() - started < 10


def test_a_fact_that_a_fact_cache_would_store_is_a_warning(monkeypatch):
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", "ansible.builtin.jsonfile")
    args = {"token_url": "https://idp/token", "client_id": "c", "client_secret": SECRET}
    warned = run_action(args)[1]["warnings"]
    assert warned == ["The token is set as fact oauth2_token, so the fact cache ansible.builtin.jsonfile stores it: use the "
                      "oauth2.client_credentials.api_token role, or fact_name: \"\" with register, to keep it out."]
    assert "warnings" not in run_action(dict(args, fact_name=""))[1]


CLIENT_KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"


def mtls_args(tmp_path, encrypted):
    (tmp_path / "client.pem").write_text("certificate")
    key = tmp_path / "client-key.pem"
    key.write_bytes(VaultLib([("default", VaultSecret(VAULT_PASSWORD))]).encrypt(CLIENT_KEY) if encrypted else CLIENT_KEY.encode())
    return {"token_url": "https://idp/token", "client_id": "c", "client_cert": str(tmp_path / "client.pem"), "client_key": str(key)}


def test_a_vault_encrypted_client_key_reaches_the_module_only_as_no_log_key_text(tmp_path):
    args = run_action(mtls_args(tmp_path, encrypted=True), vault_password=VAULT_PASSWORD)[0][1]
    assert args["client_key_content"] == CLIENT_KEY and "client_key" not in args
    assert args["client_cert"] == str(tmp_path / "client.pem")


def test_an_unencrypted_client_key_stays_a_path_read_where_the_module_runs(tmp_path):
    args = run_action(mtls_args(tmp_path, encrypted=False))[0][1]
    assert args["client_key"] == str(tmp_path / "client-key.pem") and "client_key_content" not in args


def test_an_assertion_file_reaches_the_module_as_its_path_never_read_on_the_controller():
    """The runner replaces it during the job, on the host the module runs on: the module reads it at each request."""
    args = run_action({"token_url": "https://idp/token", "client_id": "c", "client_assertion_file": "/var/run/secrets/tokens/oauth2"})[0][1]
    assert args["client_assertion_file"] == "/var/run/secrets/tokens/oauth2" and "client_assertion" not in args
    assert args["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_a_vault_encrypted_client_key_without_the_vault_password_is_one_line(tmp_path):
    args = mtls_args(tmp_path, encrypted=True)
    with pytest.raises(AnsibleActionFail, match=r"^client_key %s is vault-encrypted but no vault password was given"
                                                % re.escape(args["client_key"])):
        run_action(args)


def test_client_key_and_client_key_content_together_are_refused_without_the_key(tmp_path):
    with pytest.raises(AnsibleActionFail, match=r"^client_key and client_key_content are both set") as caught:
        run_action(dict(mtls_args(tmp_path, encrypted=True), client_key_content=CLIENT_KEY), vault_password=VAULT_PASSWORD)
    assert "MIGHAgEA" not in str(caught.value)


class ConnectionWatcher(ModuleStandIn):
    """Records the no_log the connection and the task say while the module runs, or fails as an unreachable host does."""

    failure = None

    def _execute_module(self, module_name=None, module_args=None, *args, **kwargs):  # pylint: disable=keyword-arg-before-vararg
        self.during = (self._connection._play_context.no_log, self._task.no_log)  # pylint: disable=protected-access
        if self.failure:
            raise self.failure
        return super()._execute_module(module_name, module_args, *args, **kwargs)


def watched_action():
    """The connection holds a play context of its own, as ansible-core's task executor gives it."""
    loader = DataLoader()
    task = Task()
    task.args = {"token_url": "https://idp/token", "client_id": "c", "client_secret": SECRET}
    task.action = "oauth2.client_credentials.token"
    connection = connection_loader.get("local", PlayContext())
    action = ConnectionWatcher(task, connection=connection, play_context=PlayContext(), loader=loader, templar=Templar(loader=loader),
                               shared_loader_obj=None)
    action.module_result = {"changed": False, "token": TOKEN_RESULT}
    return action, connection._play_context  # pylint: disable=protected-access


def test_the_connection_runs_the_module_under_no_log_and_the_module_gets_the_tasks_own():
    action, connection_play_context = watched_action()
    assert action.run(task_vars={})["_ansible_no_log"] is True
    assert action.during == (True, False)
    assert connection_play_context.no_log is False


def test_an_unreachable_host_says_why_the_connection_error_is_hidden():
    action, connection_play_context = watched_action()
    action.failure = AnsibleConnectionFailure("Failed to connect to the host via ssh: <error censored due to no log>")
    with pytest.raises(AnsibleConnectionFailure, match=r"^The host could not be reached to run the token module, and the connection's own "
                                                       r"message is hidden .* ansible\.builtin\.ping \(Failed to connect to the host via ssh"):
        action.run(task_vars={})
    assert connection_play_context.no_log is False


def test_a_short_no_log_value_is_refused_on_the_controller_before_the_module_runs():
    """There the message itself cannot be scrubbed: a passphrase such as "the" would otherwise blank words out of it."""
    with pytest.raises(AnsibleActionFail, match=r"^private_key_passphrase is shorter than 8 characters: Ansible would blank out every "
                                                r"occurrence of it in the module's result, the token included\. Use the lookup, or a "
                                                r"passphrase of at least 8 characters\.$"):
        run_action({"token_url": "https://idp/token", "client_id": "c", "private_key": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n",
                    "private_key_passphrase": "the"})
