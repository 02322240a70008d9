# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the token options of one lookup call are resolved from, gathered without resolving them. Internal use only.

Resolving and checking the options is most of what a lookup answered from the cache would otherwise compile and run.
When every option comes from the task's arguments, the declared oauth2_* variables or the ANSIBLE_OAUTH2_* environment,
these inputs, Ansible's home and the files the options name decide the outcome entirely: a memo keyed by them
(cache_read.OptionsMemo) stands for the resolution and the checks. Options read from a file on the controller
(credentials_file, a key file, client_key) or from ansible.cfg's section are resolved at every call (controller_options),
and their memo is keyed by the resolved values instead.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from ansible import constants as C
from ansible.release import __version__ as ansible_version

from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import OptionsMemo, default_cache_dir
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_options

# The section of ansible.cfg the options' ini entries name.
CONFIG_SECTION = "oauth2_client_credentials"
# Options naming a key file that is read on the controller, and decrypted when vault-encrypted (vault_files.read_key_files).
KEY_FILE_OPTIONS = ("private_key_path", "dpop_private_key_path", "client_key")
# Every option whose file is read into a credential on the controller: calls with one are resolved.
READ_INTO_CREDENTIALS = ("credentials_file",) + KEY_FILE_OPTIONS
# Relative paths of these options are searched like files/ of the play or role, on the controller.
SEARCHED_PATHS = ("ca_path", "client_cert", "client_key", "private_key_path", "dpop_private_key_path")
# What a memo keyed by the inputs needs resolved before it is found: where the cache is, the files it keys, the output form.
LOCATING = ("cache", "cache_backend", "cache_dir", "cache_url", "ca_path", "client_cert", "client_assertion_file", "output") + READ_INTO_CREDENTIALS


def option_inputs(plugin: Any, variables: Optional[Mapping[str, Any]], direct: Mapping[str, Any], templar: Any,
                  find_file: Callable[[str], Optional[str]]) -> Tuple[Optional[Dict[str, Any]], Optional[OptionsMemo], Any]:
    """The declared variables templated, once for the call; the memo keyed by all inputs of the options and the output
    form they give, unless the options must be resolved (files read into credentials, an ansible.cfg section, or any
    surprise, which resolving then explains). None for what could not be had."""
    definitions = C.config.get_configuration_definitions(plugin_type=plugin.plugin_type, name=plugin._load_name)  # pylint: disable=protected-access
    templated = None
    try:
        templated = option_variables(definitions, definitions, variables, direct, templar)
        environment = {entry["name"]: os.environ[entry["name"]] for definition in definitions.values() for entry in definition.get("env") or ()
                       if entry["name"] in os.environ}

        def resolved(name: str) -> Any:
            return C.config.get_config_value(name, plugin_type=plugin.plugin_type, plugin_name=plugin._load_name,  # pylint: disable=protected-access
                                             variables=templated, direct=direct)

        located = {name: resolved(name) for name in LOCATING}
        config = getattr(C.config, "_config_file", None)
        if any(located[name] for name in READ_INTO_CREDENTIALS) or config and names_section(config):
            return templated, None, None
        for name in SEARCHED_PATHS:
            if located.get(name) and not os.path.isabs(os.path.expanduser(located[name])):
                located[name] = find_file(located[name])
                if not located[name]:
                    return templated, None, None
        home = C.config.get_config_value("ANSIBLE_HOME")
        located["cache_dir"] = located["cache_dir"] or default_cache_dir(home)
        mask_options(resolved)
        inputs = [{name: _as_read(value) for name, value in given.items()} for given in (direct, templated, environment)]
        return templated, OptionsMemo([inputs, home, ansible_version], located), located["output"]
    except Exception:  # pylint: disable=broad-except
        return templated, None, None


def _as_read(value: Any) -> Any:
    """A vault-encrypted string as the plaintext the config manager reads: before ansible-core 2.19, templating leaves it
    encrypted, and as an object of its own it could key no memo."""
    return str(value) if callable(getattr(value, "is_encrypted", None)) else value


def names_section(path: str) -> bool:
    """Whether ansible.cfg has a [oauth2_client_credentials] line at all; only then is it read as written (config_section)."""
    try:
        with open(path, "rb") as handle:
            return ("[%s]" % CONFIG_SECTION).encode("utf-8") in handle.read()
    except OSError:
        return False


def option_variables(
    definitions: Mapping[str, Any], names: Iterable[str], variables: Optional[Mapping[str, Any]], direct: Mapping[str, Any], templar: Any
) -> Dict[str, Any]:
    """The declared oauth2_<option> variables that will be used, templated before the config manager type-checks them.

    Variables usually point elsewhere (oauth2_client_secret: "{{ vault_client_secret }}"). Only the variables an
    option declares, and only for options not given directly, are templated: other oauth2_* variables may hold
    anything, the token lookup itself included, and must not be evaluated here.
    """
    templated: Dict[str, Any] = {}
    for name in names:
        if direct.get(name) is not None:
            continue
        for entry in definitions.get(name, {}).get("vars") or ():
            variable = entry["name"]
            if variables and variable in variables:
                templated[variable] = templar.template(variables[variable])
    return templated
