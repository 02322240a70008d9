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

import configparser
import difflib
import functools
import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.parsing.vault import is_encrypted_file

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import OPTION_NAMES
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_cache import default_cache_dir

# The section of ansible.cfg the options' ini entries name.
CONFIG_SECTION = "oauth2_client_credentials"
# Relative paths of these options are searched like files/ of the play or role, on the controller.
SEARCHED_PATHS = ("ca_path", "client_cert", "client_key", "private_key_path", "dpop_private_key_path")
# Key files read (and decrypted, when vault-encrypted) on the controller into the option they feed, unless that is set.
KEY_FILES = (("private_key_path", "private_key"), ("dpop_private_key_path", "dpop_private_key"))
# OAuth error codes that mean the provider did not accept these credentials for this client.
CREDENTIAL_REFUSALS = ("invalid_client", "unauthorized_client")
# What each auth_method proves the client with, beside client_id: the options a refused client should check.
CREDENTIALS_USED = {
    "client_secret_basic": ("client_secret",),
    "client_secret_post": ("client_secret",),
    "client_secret_jwt": ("client_secret",),
    "private_key_jwt": ("private_key",),
    "tls_client_auth": ("client_cert", "client_key"),
    "client_assertion": ("client_assertion",),
}


class ResolvedOptions:
    """Option values by name, where each came from (never the value), and warnings for the user."""

    def __init__(self, values: Dict[str, Any]) -> None:
        self.values = values
        self.origins: Dict[str, str] = {}
        self.warnings: List[str] = []

    def explain(self, message: str, error_code: Optional[str], auth_method: str) -> str:
        """The error line, and for a refused client where its id and the credentials auth_method used came from, so the
        user checks the right source: a secret that was never sent is not the one to blame."""
        if error_code not in CREDENTIAL_REFUSALS:
            return message
        used = [self._credential(name) for name in CREDENTIALS_USED[auth_method]]
        return "%s (client_id came from %s, %s.)" % (
            message.rstrip("."), self.origins["client_id"], ", ".join("%s from %s" % (name, self.origins[name]) for name in used))

    def _credential(self, name: str) -> str:
        """The option that holds the credential: a vault-encrypted client_key travels on as the key text client_key_content,
        and an assertion may come as its file."""
        if name == "client_key" and self.values.get("client_key_content"):
            return "client_key_content"
        if name == "client_assertion" and not str(self.values.get("client_assertion") or "").strip():
            return "client_assertion_file"
        return name


def resolve_options(
    plugin: Any,
    variables: Optional[Mapping[str, Any]],
    direct: Mapping[str, Any],
    templar: Any,
    loader: Any,
    find_file: Callable[[str], Optional[str]],
    names: Iterable[str] = OPTION_NAMES,
    used_here: bool = True,
    front_end: str = "the oauth2.client_credentials.token lookup",
    own_names: Iterable[str] = (),
) -> ResolvedOptions:
    """The plugin's options by precedence: direct, then variable / environment / ansible.cfg, then
    credentials_file, then default, each resolved and type-checked once by Ansible's config manager.
    used_here: the token is requested on the controller, not by a module on another host. front_end and own_names (the
    front end's options that are not token options, taken out of direct) are for the message about an unknown option."""
    names = tuple(names)
    unknown = sorted(set(direct) - set(names))
    if unknown:
        known = sorted(set(names) | set(own_names))
        raise OAuth2Error("Unknown option %s for %s%s: the options are %s." % (
            ", ".join(unknown), front_end, _did_you_mean(unknown, known), ", ".join(known)))
    definitions = C.config.get_configuration_definitions(plugin_type=plugin.plugin_type, name=plugin._load_name)  # pylint: disable=protected-access
    var_options = _option_variables(definitions, names, variables, direct, templar)
    resolved = ResolvedOptions({})
    defaulted: Set[str] = set()
    for name in names:
        value, origin = _config_value(plugin, definitions, name, var_options, direct)
        if origin == "default":
            defaulted.add(name)
        resolved.values[name] = value
        resolved.origins[name] = _describe_origin(origin)
    if resolved.values.get("credentials_file"):
        found = _find(find_file, "credentials_file", resolved.values["credentials_file"])
        for name, value in load_credentials_file(loader, found, names).items():
            if resolved.values[name] is None or name in defaulted:
                # Held to the option's type and choices like a value from any other source, before anything uses it.
                origin = "credentials_file %s" % found
                resolved.values[name] = _config_value(plugin, definitions, name, {}, {name: value}, "%s in %s" % (name, origin))[0]
                resolved.origins[name] = origin
            elif resolved.origins[name] != "the task's arguments":
                resolved.warnings.append(
                    "credentials_file %s sets %s, but the value from %s is used, which takes precedence: "
                    "remove one of them if that is not what you meant." % (found, name, resolved.origins[name]))
    for name in SEARCHED_PATHS:
        if resolved.values.get(name) and not os.path.isabs(os.path.expanduser(resolved.values[name])):
            resolved.values[name] = _find(find_file, name, resolved.values[name])
    for path_option, key_option in KEY_FILES:
        if resolved.values.get(path_option) and not resolved.values.get(key_option):
            resolved.values[key_option] = _decrypted_text(loader, path_option, resolved.values[path_option])
            resolved.origins[key_option] = "%s %s" % (path_option, resolved.values[path_option])
    _check_config_section(definitions, names, resolved)
    if used_here and not resolved.values.get("cache_dir"):
        # Read here, where ansible.cfg's home is known; a module on another host keeps that host's default.
        resolved.values["cache_dir"] = default_cache_dir(C.config.get_config_value("ANSIBLE_HOME"))
    client_key = resolved.values.get("client_key")
    if client_key and not resolved.values.get("client_key_content") and _vault_encrypted(client_key):
        # Decrypted here and handed on as the no_log client_key_content; an unencrypted key stays a path, read where the token is requested.
        resolved.values["client_key_content"] = _decrypted_text(loader, "client_key", client_key)
        resolved.values["client_key"] = None
        resolved.origins["client_key_content"] = "client_key %s" % client_key
    return resolved


def _did_you_mean(unknown: Iterable[str], known: Iterable[str]) -> str:
    guesses = [match for name in unknown for match in difflib.get_close_matches(name, list(known), n=1, cutoff=0.7)]
    return " (did you mean %s?)" % " or ".join(guesses) if guesses else ""


def _check_config_section(definitions: Mapping[str, Any], names: Iterable[str], resolved: ResolvedOptions) -> None:
    """Keys of the [oauth2_client_credentials] section of ansible.cfg that the config manager never reads: a secret (never
    read from there) or a typo would otherwise be ignored silently, and the option reported as not set."""
    path = getattr(C.config, "_config_file", None)
    parser = _config_file(path) if path else None
    if parser is None or not parser.has_section(CONFIG_SECTION):
        return
    read_there = {entry["key"] for definition in definitions.values() for entry in definition.get("ini") or () if entry.get("section") == CONFIG_SECTION}
    for key in parser.options(CONFIG_SECTION):
        if key in read_there or key in parser.defaults():
            continue
        if key in names:
            where = "give it as a vault-encrypted oauth2_%s variable, the ANSIBLE_OAUTH2_%s environment variable or in credentials_file" % (
                key, key.upper())
            message = "ansible.cfg %s sets %s in [%s], where it is never read (no secret belongs in ansible.cfg): %s." % (
                path, key, CONFIG_SECTION, where)
            if resolved.values.get(key) is None:
                raise OAuth2Error(message)
            resolved.warnings.append(message)
        else:
            resolved.warnings.append("ansible.cfg %s sets %s in [%s], which is no option%s: it is ignored." % (
                path, key, CONFIG_SECTION, _did_you_mean([key], sorted(read_there))))


def _option_variables(
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
    parser = _config_file(origin)
    if parser is None:
        return None
    return next((parser.get(entry["section"], entry["key"]) for entry in definition.get("ini") or ()
                 if parser.has_option(entry["section"], entry["key"])), None)


def _config_file(path: str) -> Optional[configparser.ConfigParser]:
    """ansible.cfg as written, read once per process however many options ask (again only if the file changed); None
    for a file this parser cannot read as the config manager did."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return _parsed_config(path, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=4)
def _parsed_config(path: str, _mtime_ns: int, _size: int) -> Optional[configparser.ConfigParser]:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    try:
        parser.read(path)
    except configparser.Error:
        return None
    return parser


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


def _vault_encrypted(path: str) -> bool:
    """Whether path is a vault-encrypted file on the controller; one that is missing or unreadable here is left to where it is read."""
    try:
        with open(os.path.expanduser(path), "rb") as handle:
            return is_encrypted_file(handle)
    except OSError:
        return False


def _decrypted_text(loader: Any, name: str, path: str) -> str:
    """A (possibly vault-encrypted) text file, decrypted with the play's vault secrets; its content never reaches the output."""
    try:
        real = loader.get_real_file(os.path.expanduser(path), decrypt=True)
    except AnsibleError as exc:
        raise OAuth2Error(_load_failure(name, path, exc, loader)) from None
    try:
        with open(real, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        raise OAuth2Error("%s %s cannot be read as a UTF-8 text file." % (name, path)) from None
    finally:
        loader.cleanup_tmp_file(real)


def load_credentials_file(loader: Any, found: str, known: Iterable[str]) -> Dict[str, Any]:
    """The file's options, decrypted with the play's vault secrets; only option names are accepted.

    Parsed from the decrypted text rather than loaded as a file: ansible-core 2.22 registers every value of a
    vault-encrypted YAML file for secret masking, the client id, URLs and numbers included, and would show each as
    $REDACTED$ wherever it appears (a retries: 3 would hide every 3). The front ends register the options that are secrets.
    """
    text = _decrypted_text(loader, "credentials_file", found)
    try:
        content = loader.load(text, found, show_content=False)
    except AnsibleError as exc:
        raise OAuth2Error(_load_failure("credentials_file", found, exc, loader)) from None
    if not isinstance(content, dict):
        raise OAuth2Error("credentials_file %s must hold a mapping with client_id and client_secret." % found)
    allowed = set(known) - {"credentials_file"}
    unknown = sorted(str(key) for key in content if key not in allowed)
    if unknown:
        raise OAuth2Error("credentials_file %s has unknown keys %s: allowed are %s." % (found, ", ".join(unknown), ", ".join(sorted(allowed))))
    return dict(content)


def _vault_secrets(loader: Any) -> list:
    """The vault passwords the run was given, if the loader tells."""
    vault = getattr(loader, "_vault", None)
    return list(getattr(vault, "secrets", None) or ())


def _load_failure(name: str, path: str, exc: AnsibleError, loader: Any) -> str:
    text = str(getattr(exc, "message", "") or exc)
    if "vault" in text.lower() and ("secret" in text.lower() or "password" in text.lower()):
        if _vault_secrets(loader):
            return ("%s %s is vault-encrypted, and none of the vault passwords given opens it: check that --vault-password-file or "
                    "--vault-id names the password it was encrypted with (ansible-vault view %s tells)." % (name, path, path))
        return (
            "%s %s is vault-encrypted but no vault password was given: "
            "run with --vault-password-file, --vault-id or --ask-vault-pass." % (name, path)
        )
    return "%s %s could not be read as %s: %s" % (
        name, path, "YAML or JSON" if name == "credentials_file" else "a file", text.splitlines()[0] if text else type(exc).__name__)
