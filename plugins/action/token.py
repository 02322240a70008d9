# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of the token module: options as the lookup reads them, vault files, censored results."""

from __future__ import annotations

from ansible import constants as C
from ansible.release import __version__ as ansible_version
from ansible.utils.display import Display

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import DEFAULT_FACT_NAME, too_short_for_no_log
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_in_output
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.refusal import explain_refusal
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.token_action import TokenOptionsAction, action_failure

CORE_LINE = tuple(int(part) for part in ansible_version.split(".")[:2])
MODULE = "oauth2.client_credentials.token"
MODULE_ONLY_ARGS = ("fact_name",)
# Read on the controller, their content is in the other options now: the files themselves never travel to the target.
CONTROLLER_ONLY = ("credentials_file", "private_key_path", "dpop_private_key_path")

display = Display()


class ActionModule(TokenOptionsAction):
    MODULE = MODULE
    OWN_ARGS = MODULE_ONLY_ARGS

    def _run_task(self, result, args, task_vars):
        passthrough = {name: args.pop(name) for name in MODULE_ONLY_ARGS if name in args}
        # Checked here before anything is serialised for the module (a YAML alias bomb in credentials_file would
        # expand there); files are left to the module, which reads them where it runs.
        options, client_options = self._token_options(args, task_vars, local_files=False)
        # Said here, where no_log scrubbing cannot blank a short value out of the message itself.
        too_short = too_short_for_no_log(options.values)
        if too_short:
            raise action_failure(too_short)
        # Its values are in the options now; the credentials file itself never travels to the target.
        module_args = {name: value for name, value in options.values.items() if value is not None and name not in CONTROLLER_ONLY}
        result.update(self._execute_module_hiding_raw_output(MODULE, dict(module_args, **passthrough), task_vars))
        # The module's retry lines, shown at -vvv like the lookup's; a warning each would be noise on a good night.
        for line in result.pop("oauth2_debug", None) or ():
            display.vvv(line, host=self._task.delegate_to or task_vars.get("inventory_hostname"))
        warnings = list(options.warnings)
        if result.get("failed") and result.get("oauth2_error"):
            result["msg"] = explain_refusal(options, result.get("msg", ""), result["oauth2_error"], client_options.auth_method)
            # ansible-core 2.19+ keeps a summary of the module's own message here; it would show the line without the origins.
            result.pop("exception", None)
        elif isinstance(result.get("token"), dict) and not result.get("failed"):
            warnings += self._fact_cache_warning(passthrough.get("fact_name", DEFAULT_FACT_NAME))
            self._censor(result)
        if warnings:
            result["warnings"] = warnings + result.get("warnings", [])
        if result.get("_ansible_no_log") and CORE_LINE < (2, 19):
            # ansible-core before 2.19 drops a censored result's warnings on the way to the callbacks: say them here.
            for warning in result.get("warnings", []):
                display.warning(warning)
        return result

    @staticmethod
    def _fact_cache_warning(fact_name):
        """A module's facts go to the configured fact cache, which would keep the token on disk or in a shared store."""
        cache_plugin = C.config.get_config_value("CACHE_PLUGIN")
        if not fact_name or cache_plugin in ("memory", "ansible.builtin.memory"):
            return []
        return ["The token is set as fact %s, so the fact cache %s stores it: use the oauth2.client_credentials.api_token role, "
                "or fact_name: \"\" with register, to keep it out." % (fact_name, cache_plugin)]

    def _censor(self, result):
        """The result carries the token: hide it from callbacks and logs, unless the task itself says no_log: false.

        register keeps the real values either way.
        """
        mask_in_output((result["token"].get("access_token"), result["token"].get("authorization")))
        if "no_log" in (self._task.get_ds() or {}) and not self._task.no_log:
            return
        result["_ansible_no_log"] = True
