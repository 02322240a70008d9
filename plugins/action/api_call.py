# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of api_call: the token from the controller's cache, a DPoP proof per request, the request run on
the task's host by the module, and one fresh token when the API refuses a cached one."""

from __future__ import annotations

from typing import Any, Dict

from ansible.utils.display import Display

from ansible_collections.oauth2.client_credentials.plugins.module_utils.api_client import ApiClient, ApiRefused
from ansible_collections.oauth2.client_credentials.plugins.module_utils.api_request import ApiArguments
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient
from ansible_collections.oauth2.client_credentials.plugins.module_utils.transport import require_secure_url
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.refusal import explain_refusal
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.token_action import TokenOptionsAction, action_failure

MODULE = "oauth2.client_credentials.api_call"
API_ARGS = ("url", "method", "body", "body_format", "headers", "status_code", "return_content", "api_ca_path", "api_validate_certs",
            "api_timeout")
# Set from the token, here; the module's arguments for them are internal.
CREDENTIAL_ARGS = ("authorization", "dpop_proof")

display = Display()


class ActionModule(TokenOptionsAction):
    MODULE = MODULE
    OWN_ARGS = API_ARGS

    def _run_task(self, result, args, task_vars):
        given = sorted(name for name in CREDENTIAL_ARGS if name in args)
        if given:
            raise action_failure("%s %s set by api_call from the token it obtains: remove %s from the task." % (
                " and ".join(given), "are" if len(given) > 1 else "is", "them" if len(given) > 1 else "it"))
        api_args = {name: args.pop(name) for name in API_ARGS if name in args}
        try:
            if not isinstance(api_args.get("url"), str) or not api_args["url"]:
                raise OAuth2Error("url is required: give the API's https:// URL.")
            require_secure_url(api_args["url"], "url")
            # Checked before a token is obtained: a typo costs no token request.
            arguments = ApiArguments(api_args)
        except OAuth2Error as exc:
            raise action_failure(str(exc)) from None
        options, client_options = self._token_options(args, task_vars, local_files=True)
        if self._play_context.check_mode and arguments.changes:
            result.update(changed=True, url=arguments.url, token_refreshed=False,
                          msg="Check mode: the %s request was not sent (only GET and HEAD are)." % arguments.method)
            return result
        tokens = TokenClient(client_options)
        api = ApiClient(tokens)

        def send(credentials: Dict[str, str]) -> Dict[str, Any]:
            module_args = dict(api_args, authorization=credentials["Authorization"], dpop_proof=credentials.get("DPoP"))
            return self._execute_module_hiding_raw_output(MODULE, module_args, task_vars)

        host = self._task.delegate_to or task_vars.get("inventory_hostname")
        refusal = None
        try:
            answer = api.call(arguments.method, arguments.url, send)
        except ApiRefused as exc:
            answer, refusal = exc.answer, str(exc)
        except OAuth2Error as exc:
            return dict(result, failed=True, url=arguments.url, token_refreshed=api.token_refreshed,
                        msg=explain_refusal(options, str(exc), exc.error_code, client_options.auth_method),
                        **({"oauth2_error": exc.error_code} if exc.error_code else {}))
        finally:
            for line in tokens.debug:
                display.vvv(line, host=host)
        warnings = options.warnings + tokens.warnings + answer.pop("warnings", [])
        if warnings:
            result["warnings"] = warnings
        self._drop_credentials(answer)
        result.update(answer, token_refreshed=api.token_refreshed)
        if result.get("json") is None:
            result.pop("json", None)
        if not arguments.return_content:
            result.pop("content", None)
        if not result.get("failed") and result["status"] not in arguments.status_code:
            result.update(failed=True, msg=refusal or "API %s answered HTTP %d, not %s as status_code expects." % (
                arguments.url, result["status"], " or ".join(str(code) for code in arguments.status_code)))
        return result

    @staticmethod
    def _drop_credentials(answer: Dict[str, Any]) -> None:
        """The module's invocation, as far as it exists, shows what the task asked for and nothing of the token: the
        credential arguments go, and so do the token options, which the module never got (they show their defaults)."""
        invocation = answer.get("invocation")
        if isinstance(invocation, dict) and isinstance(invocation.get("module_args"), dict):
            invocation["module_args"] = {name: value for name, value in invocation["module_args"].items() if name in API_ARGS}
