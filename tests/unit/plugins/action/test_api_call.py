# SPDX-License-Identifier: GPL-3.0-or-later
"""The api_call action plugin on the controller: what it refuses before a token is requested, what it hands the module,
and how it judges and cleans the module's answer.

The token comes from the fake provider through the real TokenClient and cache; only the module's run on a host is replaced.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar

from ansible_collections.oauth2.client_credentials.plugins.action.api_call import ActionModule
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import CLIENT_ARGUMENT_SPEC

SECRET = "api-action-Secret-Value-3"
URL = "https://api.example/v1/things"
OK = {"changed": False, "status": 200, "url": URL, "headers": {"content-type": "application/json"}, "content": '{"id": 1}', "json": {"id": 1}}
REFUSED = {"changed": False, "status": 401, "url": URL, "headers": {"www-authenticate": 'Bearer error="invalid_token"'}, "content": "", "json": None}


class ModuleStandIn(ActionModule):
    """Records each run of the module and answers as the module would, its invocation echoing every argument it got."""

    answers: list = []

    def _execute_module(self, module_name=None, module_args=None, *args, **kwargs):  # pylint: disable=keyword-arg-before-vararg
        self.sent.append((module_name, dict(module_args)))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        defaults = {name: spec.get("default") for name, spec in CLIENT_ARGUMENT_SPEC.items()}
        return dict(answer, invocation={"module_args": dict(defaults, **module_args)})


def run_action(provider, args, answers=(OK,), check_mode=False, token_type="Bearer"):
    provider.answer("/token", json_body={"access_token": "tok-1", "token_type": token_type, "expires_in": 600})
    loader = DataLoader()
    task = Task()
    task.args = dict({"token_url": provider.base_url + "/token", "client_id": "app", "client_secret": SECRET}, **args)
    task.action = "oauth2.client_credentials.api_call"
    task.check_mode = check_mode
    play_context = PlayContext()
    # As the task executor sets it, from the task's keyword or --check.
    play_context.check_mode = check_mode
    action = ModuleStandIn(task, connection=connection_loader.get("local", play_context), play_context=play_context, loader=loader,
                           templar=Templar(loader=loader), shared_loader_obj=None)
    action.sent, action.answers = [], list(answers)
    return action, action.run(task_vars={})


@pytest.mark.parametrize("args, message", [
    ({"url": URL, "authorization": "Bearer mine"}, r"^authorization is set by api_call from the token it obtains: remove it from the task\.$"),
    ({"url": URL, "dpop_proof": "proof"}, r"^dpop_proof is set by api_call from the token it obtains"),
    ({"url": URL, "authorization": "Bearer mine", "dpop_proof": "proof"},
     r"^authorization and dpop_proof are set by api_call from the token it obtains: remove them from the task\.$"),
    ({"url": "http://example.com/api"}, r"^url http://example\.com/api uses plain http"),
    ({}, r"^url is required: give the API's https:// URL\.$"),
    ({"url": URL, "method": "GET THINGS"}, r"^method GET THINGS is not an HTTP method"),
    ({"url": URL, "headers": {"Authorization": "Bearer mine"}}, r"^headers may not set Authorization"),
], ids=["authorization", "dpop_proof", "both", "plain-http", "no-url", "bad-method", "authorization-header"])
def test_refused_before_a_token_is_requested(provider, args, message):
    """A typo, or a credential of the task's own, costs no token request and reaches no host."""
    with pytest.raises(AnsibleActionFail, match=message):
        run_action(provider, args)
    assert provider.requests == []


@pytest.mark.parametrize("method, sent", [("POST", False), ("delete", False), ("GET", True), ("HEAD", True)])
def test_check_mode_sends_only_safe_methods(provider, method, sent):
    action, result = run_action(provider, {"url": URL, "method": method, "body": "x"}, check_mode=True)
    assert bool(action.sent) is sent and bool(provider.requests) is sent
    if not sent:
        assert (result["changed"], result["msg"]) == (True, "Check mode: the %s request was not sent (only GET and HEAD are)."
                                                      % method.upper())


def test_the_module_gets_the_request_and_the_token_but_no_token_option(provider):
    action, result = run_action(provider, {"url": URL, "method": "PUT", "body": {"a": 1}, "body_format": "json", "status_code": [200, 204]})
    [(module, args)] = action.sent
    assert module == "oauth2.client_credentials.api_call"
    assert args == {"url": URL, "method": "PUT", "body": {"a": 1}, "body_format": "json", "status_code": [200, 204],
                    "authorization": "Bearer tok-1", "dpop_proof": None}
    assert (result["status"], result["json"], result["token_refreshed"]) == (200, {"id": 1}, False)
    assert "content" not in result, "content only with return_content"


def test_a_dpop_token_reaches_the_module_with_a_proof_of_this_request(provider, dpop_server):
    action = run_action(provider, {"url": URL + "?q=1", "method": "PATCH", "dpop": True}, token_type="DPoP")[0]
    args = action.sent[0][1]
    claims = dpop_server.checked(args["dpop_proof"])[1]
    assert args["authorization"] == "DPoP tok-1"
    assert (claims["htm"], claims["htu"], claims["ath"]) == ("PATCH", URL, dpop_server.hash("tok-1"))


def test_the_invocation_keeps_only_what_the_task_asked_for(provider):
    """The module echoes its arguments: the token and the proof must not reach the task result, nor the token options' defaults."""
    result = run_action(provider, {"url": URL, "return_content": True, "dpop": True}, token_type="DPoP")[1]
    assert result["invocation"] == {"module_args": {"url": URL, "return_content": True}}
    assert "tok-1" not in str(result) and SECRET not in str(result)
    assert result["content"] == '{"id": 1}'


@pytest.mark.parametrize("answer, status_code, message", [
    (dict(OK, status=404), None, "API %s answered HTTP 404, not 200 as status_code expects." % URL),
    (dict(OK, status=500), [200, 201], "API %s answered HTTP 500, not 200 or 201 as status_code expects." % URL),
    (REFUSED, None, "API %s refused the token with HTTP 401 (invalid_token) although the token was obtained just now: check that "
                    "the client's scope, resource or audience grant access to this API." % URL),
], ids=["404", "500-not-in-list", "401"])
def test_a_status_that_status_code_does_not_expect_fails_in_one_line(provider, answer, status_code, message):
    args = {"url": URL} if status_code is None else {"url": URL, "status_code": status_code}
    result = run_action(provider, args, answers=(answer,))[1]
    assert (result["failed"], result["msg"], result["status"]) == (True, message, answer["status"])


def test_a_401_that_status_code_expects_is_the_answer_not_a_failure(provider):
    """A task that checks that a client may not call an API expects the 401."""
    action, result = run_action(provider, {"url": URL, "status_code": [401]}, answers=(REFUSED,))
    assert (result.get("failed"), result["status"], result["headers"]) == (None, 401, REFUSED["headers"])
    assert (len(action.sent), result["token_refreshed"]) == (1, False)
