# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side option gathering for the lookup (and the module's action plugin).

Internal use only. Templates the oauth2_<option> variables the options may come from, reads the plugin's
configured options, fills what is left unset from a (possibly vault-encrypted) credentials_file, and
remembers where each value came from, so that a refused client can be told which source to check.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import default_cache_dir
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.option_inputs import (
    KEY_FILE_OPTIONS,
    SEARCHED_PATHS,
    names_section,
    option_variables,
)


class ResolvedOptions:
    """Option values by name, where each came from (never the value), and warnings for the user."""

    def __init__(self, values: Dict[str, Any]) -> None:
        self.values = values
        self.origins: Dict[str, str] = {}
        self.warnings: List[str] = []


def resolve_options(
    plugin: Any,
    variables: Optional[Mapping[str, Any]],
    direct: Mapping[str, Any],
    templar: Any,
    loader: Any,
    find_file: Callable[[str], Optional[str]],
    names: Optional[Iterable[str]] = None,
    used_here: bool = True,
    front_end: str = "the oauth2.client_credentials.token lookup",
    own_names: Iterable[str] = (),
    var_options: Optional[Dict[str, Any]] = None,
) -> ResolvedOptions:
    """The plugin's options by precedence: direct, then variable / environment / ansible.cfg, then
    credentials_file, then default, each resolved and type-checked once by Ansible's config manager.
    used_here: the token is requested on the controller, not by a module on another host. front_end and own_names (the
    front end's options that are not token options, taken out of direct) are for the message about an unknown option.
    names are the options to resolve, by default every option the plugin documents; var_options are their declared
    variables already templated (option_inputs), if the caller has them."""
    definitions = C.config.get_configuration_definitions(plugin_type=plugin.plugin_type, name=plugin._load_name)  # pylint: disable=protected-access
    names = tuple(definitions if names is None else names)
    unknown = sorted(set(direct) - set(names))
    if unknown:
        known = sorted(set(names) | set(own_names))
        raise OAuth2Error("Unknown option %s for %s%s: the options are %s." % (
            ", ".join(unknown), front_end, did_you_mean(unknown, known), ", ".join(known)))
    if var_options is None:
        var_options = option_variables(definitions, names, variables, direct, templar)
    resolved = ResolvedOptions({})
    defaulted: Set[str] = set()
    for name in names:
        value, origin = _config_value(plugin, definitions, name, var_options, direct)
        if origin == "default":
            defaulted.add(name)
        resolved.values[name] = value
        resolved.origins[name] = _describe_origin(origin)
    if resolved.values.get("credentials_file"):
        from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.vault_files import (  # pylint: disable=import-outside-toplevel
            merge_credentials_file,
        )

        merge_credentials_file(
            loader, _find(find_file, "credentials_file", resolved.values["credentials_file"]), names, resolved, defaulted,
            lambda name, value, source: _config_value(plugin, definitions, name, {}, {name: value}, source)[0])
    for name in SEARCHED_PATHS:
        if resolved.values.get(name) and not os.path.isabs(os.path.expanduser(resolved.values[name])):
            resolved.values[name] = _find(find_file, name, resolved.values[name])
    if any(resolved.values.get(name) for name in KEY_FILE_OPTIONS):
        from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.vault_files import read_key_files  # pylint: disable=import-outside-toplevel

        read_key_files(loader, resolved.values, resolved.origins)
    config_path = getattr(C.config, "_config_file", None)
    if config_path and names_section(config_path):
        from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.config_section import (  # pylint: disable=import-outside-toplevel
            check_config_section,
        )

        check_config_section(config_path, definitions, names, resolved)
    if used_here and not resolved.values.get("cache_dir"):
        # Read here, where ansible.cfg's home is known; a module on another host keeps that host's default.
        resolved.values["cache_dir"] = default_cache_dir(C.config.get_config_value("ANSIBLE_HOME"))
    return resolved


def did_you_mean(unknown: Iterable[str], known: Iterable[str]) -> str:
    guesses = [match for name in unknown for match in difflib.get_close_matches(name, list(known), n=1, cutoff=0.7)]
    return " (did you mean %s?)" % " or ".join(guesses) if guesses else ""


def _config_value(
    plugin: Any, definitions: Mapping[str, Any], name: str, var_options: Dict[str, Any], direct: Mapping[str, Any], source: Optional[str] = None
) -> Any:
    """The value and origin of one option; source names where a value of the wrong type is to be fixed, by default
    every place a value given directly or by variable, environment or ansible.cfg comes from."""
    # Asked of the config manager, not the plugin: before 2.19 a plugin reports origins without direct or var values.
    try:
        value, origin = C.config.get_config_value_and_origin(
            name, plugin_type=plugin.plugin_type, plugin_name=plugin._load_name, variables=var_options, direct=direct  # pylint: disable=protected-access
        )
        if definitions.get(name, {}).get("type") == "bool" and origin not in (None, "default"):
            # The config manager reads a word it does not know as false: a typo would turn validate_certs off.
            raw = _raw_value(definitions[name], name, origin, var_options, direct)
            if raw is not None:
                boolean(raw, strict=True)
        return value, origin
    except (AnsibleError, ValueError, TypeError):
        # Ansible's own message quotes the value, which may be a secret: say what is wrong without it.
        definition = definitions.get(name, {})
        expected = ("one of " + ", ".join(definition["choices"])) if definition.get("choices") else "of type " + definition.get("type", "str")
        source = source or "the %s argument, the oauth2_%s variable and the ANSIBLE_OAUTH2_%s environment variable" % (name, name, name.upper())
        raise OAuth2Error("Option %s has a value that is not %s: check %s." % (name, expected, source)) from None


def _raw_value(definition: Mapping[str, Any], name: str, origin: str, var_options: Mapping[str, Any], direct: Mapping[str, Any]) -> Any:
    """The value as its source gave it, before the config manager converted it; origin is not the default. None for an
    ansible.cfg this parser cannot read as the config manager did (the config manager's reading then stands)."""
    if origin == "Direct":
        return direct.get(name)
    if origin.startswith("var: "):
        return var_options.get(origin[len("var: "):])
    if origin.startswith("env: "):
        return os.environ.get(origin[len("env: "):])
    from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.config_section import raw_ini_value  # pylint: disable=import-outside-toplevel

    return raw_ini_value(origin, definition)


def _describe_origin(origin: Optional[str]) -> str:
    """The config manager's origin ("Direct", "var: x", "env: X", an ini path) as a user reads it."""
    origin = origin or "default"
    if origin == "Direct":
        return "the task's arguments"
    for prefix, meaning in (("var: ", "variable "), ("env: ", "environment variable ")):
        if origin.startswith(prefix):
            return meaning + origin[len(prefix):]
    return origin if origin == "default" else "ansible.cfg %s" % origin


def _find(find_file: Callable[[str], Optional[str]], name: str, path: str) -> str:
    found = find_file(path)
    if not found:
        raise OAuth2Error("%s %s was not found (relative paths are searched like files/ of the play or role)." % (name, path))
    return found
