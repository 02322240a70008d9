# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error type of the core; front ends turn it into AnsibleLookupError or fail_json."""

from __future__ import annotations

import json
import time
from typing import Any, Iterable, Optional

REDACTED = "********"


class OAuth2Error(ValueError):
    """A problem the user can act on, already phrased as one line that names the option or endpoint.

    error_code is the provider's OAuth error code (RFC 6749 section 5.2) when it refused the request, so a
    front end can add what only it knows, such as where the credentials came from.
    """

    def __init__(self, message: str, error_code: Optional[str] = None) -> None:
        super().__init__(message)
        self.error_code = error_code


def redact(text: str, sensitive_values: Iterable[str]) -> str:
    """Blank out secrets in a message, longest first so a secret's substrings cannot survive."""
    for value in sorted((v for v in sensitive_values if v), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def utc_time(epoch_seconds: float) -> str:
    """A moment in a message, as every controller reads it alike whatever its time zone."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def shown(value: object, limit: int = 80) -> str:
    """A value the provider (or whoever made a token) chose, for a message: printable ASCII on one short line."""
    text = value if isinstance(value, str) else json.dumps(value)
    text = "".join(character if " " <= character < "\x7f" else "?" for character in text)
    return text if len(text) <= limit else text[:limit] + "..."


def token_provenance(client_id: str, endpoint: str, expires_at: Any, now: float, from_cache: bool) -> str:
    """Where a token came from and until when, for -vvv: the first thing to look at when a call fails; never the token."""
    expiry = "expires %s (in %d s)" % (utc_time(expires_at), expires_at - now) \
        if isinstance(expires_at, int) else "expiry unknown, so not cached"
    if from_cache:
        return ("Token for client_id %s from the token cache (%s), %s; a cached token exercised no TLS setting or credential: a wrong "
                "ca_path or secret shows when it is renewed, or at once with cache=false." % (client_id, endpoint, expiry))
    return "Token for client_id %s obtained from the token endpoint %s, %s." % (client_id, endpoint, expiry)
