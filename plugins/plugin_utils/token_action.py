# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the action plugins of the token and api_call modules share: the token options read as the lookup reads
them, and a module run whose raw output no connection prints. Internal use only."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Tuple

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import OPTION_NAMES, ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_in_output
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.controller_options import ResolvedOptions, resolve_options

# The lookup declares the token options with every source (variables, environment, ansible.cfg); reading them through
# it keeps the front ends in step.
OPTIONS_PLUGIN = "oauth2.client_credentials.token"


def action_failure(message: str) -> AnsibleActionFail:
    failure = AnsibleActionFail(message)
    # Before ansible-core 2.19 it carries the traceback of the error being handled, and callbacks show that.
    failure.result.pop("exception", None)
    return failure


class TokenOptionsAction(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    # The module's name, and its arguments that are not token options, for the message about an unknown one.
    MODULE = ""
    OWN_ARGS: Tuple[str, ...] = ()

    def run(self, tmp: Any = None, task_vars: Any = None) -> Dict[str, Any]:
        result = super().run(tmp, task_vars)
        return self._run_task(result, dict(self._task.args), task_vars or {})

    def _run_task(self, result: Dict[str, Any], args: Dict[str, Any], task_vars: Mapping[str, Any]) -> Dict[str, Any]:
        """The task with its own copy of the arguments, on the result ActionBase.run began."""
        raise NotImplementedError

    def _token_options(self, args: Mapping[str, Any], task_vars: Mapping[str, Any], local_files: bool) -> Tuple[ResolvedOptions, ClientOptions]:
        """The task's token options by precedence, checked; local_files is false when the module reads the files where it runs."""
        try:
            options_plugin = lookup_loader.get(OPTIONS_PLUGIN, loader=self._loader, templar=self._templar)
            options = resolve_options(options_plugin, task_vars, args, self._templar, self._loader, self._find_file, OPTION_NAMES, used_here=local_files,
                                      front_end="the %s module" % self.MODULE, own_names=self.OWN_ARGS)
            client_options = ClientOptions.from_mapping(options.values, local_files=local_files)
        except OAuth2Error as exc:
            raise action_failure(str(exc)) from None
        mask_in_output(client_options.secret_values())
        return options, client_options

    def _find_file(self, path: str) -> Any:
        try:
            return self._find_needle("files", os.path.expanduser(path))
        except AnsibleError:
            return None

    def _execute_module_hiding_raw_output(self, module: str, module_args: Dict[str, Any], task_vars: Mapping[str, Any]) -> Dict[str, Any]:
        """Run the module with no_log in effect for the connection only: its raw output, or its arguments, carry a token.

        The ssh connection prints a module's raw stdout at -vvv (under ANSIBLE_DEBUG from ansible-core 2.22) unless its
        play context says no_log, and that context is the connection's own copy. The module still gets the task's own
        no_log, so what it does and warns about is unchanged.
        """
        play_context = self._connection._play_context  # pylint: disable=protected-access
        no_log = play_context.no_log
        play_context.no_log = True
        try:
            return self._execute_module(module_name=module, module_args=module_args, task_vars=task_vars)
        except AnsibleConnectionFailure as exc:
            # The connection censors its own error under no_log too; without a word here, the reason would look lost.
            raise AnsibleConnectionFailure(
                "The host could not be reached to run the %s module, and the connection's own message is hidden during this "
                "module because the module's raw output carries the token: check the connection, for example with ansible.builtin.ping "
                "(%s)" % (module.rsplit(".", 1)[-1], exc.message)) from None
        finally:
            play_context.no_log = no_log
