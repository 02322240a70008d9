# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the token module: options as the lookup reads them, vault files, censored results."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.controller_options import resolve_options

try:
    from ansible.module_utils.secrets import register_secret
except ImportError:  # ansible-core before 2.22: the censored result is the protection
    register_secret = None

MODULE = "oauth2.client_credentials.token"
MODULE_ONLY_ARGS = ("fact_name",)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            module_args = self._module_args(task_vars)
        except OAuth2Error as exc:
            raise AnsibleActionFail(str(exc)) from None
        result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        token = result.get("token")
        if isinstance(token, dict) and not result.get("failed"):
            # The result carries the token: hide it from callbacks and logs; register keeps the real values.
            result["_ansible_no_log"] = True
            if register_secret is not None:
                register_secret(token["access_token"])
        return result

    def _module_args(self, task_vars):
        """Task arguments, then oauth2_* variables / ANSIBLE_OAUTH2_* / ansible.cfg, then credentials_file."""
        args = dict(self._task.args)
        passthrough = {name: args.pop(name) for name in MODULE_ONLY_ARGS if name in args}
        # The lookup declares the same options with the same sources; reading through it keeps the two in step.
        options_plugin = lookup_loader.get(MODULE, loader=self._loader, templar=self._templar)
        options = resolve_options(options_plugin, task_vars, args, self._templar, self._loader, self._find_credentials_file)
        # Its values are in options now; the file itself never travels to the target.
        options.pop("credentials_file")
        return dict({name: value for name, value in options.items() if value is not None}, **passthrough)

    def _find_credentials_file(self, path):
        try:
            return self._find_needle("files", os.path.expanduser(path))
        except AnsibleError:
            return None
