# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a client the provider refused is told: where its id and its credentials came from. Internal use only; the front
ends load it once a token was refused, which a lookup answered from the cache never is."""

from __future__ import annotations

from typing import Any, Optional

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


def explain_refusal(options: Any, message: str, error_code: Optional[str], auth_method: str) -> str:
    """The error line, and for a refused client where its id and the credentials auth_method used came from (options is a
    controller_options.ResolvedOptions), so the user checks the right source: a secret that was never sent is not the one
    to blame."""
    if error_code not in CREDENTIAL_REFUSALS:
        return message
    used = [_credential(options.values, name) for name in CREDENTIALS_USED[auth_method]]
    return "%s (client_id came from %s, %s.)" % (
        message.rstrip("."), options.origins["client_id"], ", ".join("%s from %s" % (name, options.origins[name]) for name in used))


def _credential(values: Any, name: str) -> str:
    """The option that holds the credential: a vault-encrypted client_key travels on as the key text client_key_content,
    and an assertion may come as its file."""
    if name == "client_key" and values.get("client_key_content"):
        return "client_key_content"
    if name == "client_assertion" and not str(values.get("client_assertion") or "").strip():
        return "client_assertion_file"
    return name
