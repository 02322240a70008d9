# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side option gathering for the lookup (and the module's action plugin).

Internal use only. Templates the oauth2_* variables the options may come from, reads the plugin's
configured options, and fills what is left unset from a (possibly vault-encrypted) credentials_file.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Set

from ansible import constants as C
from ansible.errors import AnsibleError

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import OPTION_NAMES
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error


VARIABLE_PREFIX = "oauth2_"


def _option_variables(variables: Optional[Mapping[str, Any]], templar: Any) -> Dict[str, Any]:
    """The oauth2_* variables, templated before the option machinery type-checks them.

    Variables usually point elsewhere (oauth2_client_secret: "{{ vault_client_secret }}"); a path option
    would otherwise be made absolute while still a template. Other variables are left alone, unread.
    """
    return {name: templar.template(value) for name, value in (variables or {}).items() if name.startswith(VARIABLE_PREFIX)}


def resolve_options(
    plugin: Any,
    variables: Optional[Mapping[str, Any]],
    direct: Mapping[str, Any],
    templar: Any,
    loader: Any,
    find_file: Callable[[str], Optional[str]],
    names: Iterable[str] = OPTION_NAMES,
) -> Dict[str, Any]:
    """The plugin's options by precedence: direct, then variable / environment / ansible.cfg, then
    credentials_file, then default, each resolved and type-checked once by Ansible's config manager."""
    names = tuple(names)
    unknown = sorted(set(direct) - set(names))
    if unknown:
        raise OAuth2Error("Unknown option %s for oauth2.client_credentials.token: the options are %s."
                          % (", ".join(unknown), ", ".join(sorted(names))))
    var_options = _option_variables(variables, templar)
    options: Dict[str, Any] = {}
    defaulted: Set[str] = set()
    for name in names:
        # Asked of the config manager, not the plugin: before 2.19 a plugin reports origins without direct or var values.
        value, origin = C.config.get_config_value_and_origin(
            name, plugin_type=plugin.plugin_type, plugin_name=plugin._load_name, variables=var_options, direct=direct  # pylint: disable=protected-access
        )
        if origin == "default":
            defaulted.add(name)
        options[name] = value
    if options.get("credentials_file"):
        for name, value in load_credentials_file(loader, find_file, options["credentials_file"], names).items():
            if options[name] is None or name in defaulted:
                options[name] = value
    return options


def load_credentials_file(loader: Any, find_file: Callable[[str], Optional[str]], path: str, known: Iterable[str]) -> Dict[str, Any]:
    """The file's options, decrypted with the play's vault secrets; only option names are accepted."""
    found = find_file(path)
    if not found:
        raise OAuth2Error("credentials_file %s was not found (relative paths are searched like files/ of the play or role)." % path)
    try:
        content = loader.load_from_file(found, unsafe=True)
    except AnsibleError as exc:
        raise OAuth2Error(_load_failure(found, exc)) from None
    if not isinstance(content, dict):
        raise OAuth2Error("credentials_file %s must hold a mapping with client_id and client_secret." % found)
    allowed = set(known) - {"credentials_file"}
    unknown = sorted(str(key) for key in content if key not in allowed)
    if unknown:
        raise OAuth2Error("credentials_file %s has unknown keys %s: allowed are %s." % (found, ", ".join(unknown), ", ".join(sorted(allowed))))
    return dict(content)


def _load_failure(path: str, exc: AnsibleError) -> str:
    text = str(getattr(exc, "message", "") or exc)
    if "vault" in text.lower() and ("secret" in text.lower() or "password" in text.lower()):
        return (
            "credentials_file %s is vault-encrypted but no matching vault password was given: "
            "run with --vault-password-file, --vault-id or --ask-vault-pass." % path
        )
    return "credentials_file %s could not be read as YAML or JSON: %s" % (path, text.splitlines()[0] if text else type(exc).__name__)
