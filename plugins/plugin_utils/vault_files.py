# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Files of the token options read on the controller, decrypted with the play's vault secrets: credentials_file, the key
files, a vault-encrypted client_key. Internal use only; resolve_options loads it only for options that name such a file,
so that a lookup without them compiles none of it.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, Set

from ansible.errors import AnsibleError
from ansible.parsing.vault import is_encrypted_file

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error

# Key files read (and decrypted, when vault-encrypted) on the controller into the option they feed, unless that is set.
KEY_FILES = (("private_key_path", "private_key"), ("dpop_private_key_path", "dpop_private_key"))


def merge_credentials_file(loader: Any, found: str, names: Iterable[str], resolved: Any, defaulted: Set[str],
                           checked: Callable[[str, Any, str], Any]) -> None:
    """The options of credentials_file (found) that no other source set (resolved, a controller_options.ResolvedOptions),
    each held to its type and choices by checked(name, value, where) like a value from any other source."""
    for name, value in load_credentials_file(loader, found, names).items():
        if resolved.values[name] is None or name in defaulted:
            origin = "credentials_file %s" % found
            resolved.values[name] = checked(name, value, "%s in %s" % (name, origin))
            resolved.origins[name] = origin
        elif resolved.origins[name] != "the task's arguments":
            resolved.warnings.append(
                "credentials_file %s sets %s, but the value from %s is used, which takes precedence: "
                "remove one of them if that is not what you meant." % (found, name, resolved.origins[name]))


def read_key_files(loader: Any, values: Dict[str, Any], origins: Dict[str, str]) -> None:
    """Each key file into the option it feeds, unless that is set; a vault-encrypted client_key into client_key_content."""
    for path_option, key_option in KEY_FILES:
        if values.get(path_option) and not values.get(key_option):
            values[key_option] = _decrypted_text(loader, path_option, values[path_option])
            origins[key_option] = "%s %s" % (path_option, values[path_option])
    client_key = values.get("client_key")
    if client_key and not values.get("client_key_content") and _vault_encrypted(client_key):
        # Decrypted here and handed on as the no_log client_key_content; an unencrypted key stays a path, read where the token is requested.
        values["client_key_content"] = _decrypted_text(loader, "client_key", client_key)
        values["client_key"] = None
        origins["client_key_content"] = "client_key %s" % client_key


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
