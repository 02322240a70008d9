# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tells ansible-core which values to mask wherever it displays them.

ansible-core 2.22 replaces every registered value with $REDACTED$ in all it shows (task results, -v to -vvvvv,
warnings, errors, log_path), while variables keep the real value. It registers vault plaintext and no_log module
options itself, but neither the tokens obtained at run time nor secrets from the environment or a plain variable.
A value registered in a worker process or in a module travels back to the controller. Older lines have no
masking; there the protection is no_log and the action plugin's censored result, and this is a no-op.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from ansible.module_utils.ansible_release import __version__ as _core_version

_register_with_core = None
# Asked by version: a failed import searches every path again, in every forked worker of an older line.
if tuple(int(part) for part in _core_version.split(".")[:2]) >= (2, 22):
    try:
        from ansible.module_utils.secrets import register_secrets as _register_with_core
    except ImportError:  # a 2.22 pre-release without it
        pass


# The options that hold a credential (the module's no_log ones), each with what a user calls it: left out of the repr
# of ClientOptions, registered for masking in output, and held to client_options.MIN_NO_LOG_LENGTH in the module.
SECRET_OPTIONS = {"client_secret": "secret", "private_key": "key", "private_key_passphrase": "passphrase", "client_key_content": "key",
                  "cache_password": "password", "cache_key": "key",
                  "dpop_private_key": "key", "client_assertion": "assertion"}


def mask_in_output(values: Iterable[Optional[str]]) -> None:
    """Register each value that is set; 2.22 masks a registered value everywhere, so only secrets belong here."""
    if _register_with_core is not None:
        _register_with_core([value for value in values if value])


def mask_options(value_of: Callable[[str], Any]) -> None:
    """Register the credentials among a front end's options, value_of(name) giving each, whatever source it came from:
    ansible-core masks on its own only vault plaintext and no_log module options."""
    mask_in_output(value for value in map(value_of, SECRET_OPTIONS) if isinstance(value, str))
