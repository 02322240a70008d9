# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: token_expiring
short_description: Whether a token result expires within a number of seconds
version_added: 0.1.0
description:
  - Tests a token result dictionary, as returned by the P(oauth2.client_credentials.token#lookup) lookup with
    C(output=full), the M(oauth2.client_credentials.token) module and the C(oauth2.client_credentials.api_token) role.
  - True when the token expires within O(seconds) from now, or has already expired; false when it has more time left,
    or when its expiry is unknown (C(expires_at) is null).
  - Compares Unix epoch seconds, so the controller's time zone and daylight saving time play no part.
author:
  - oauth2.client_credentials maintainers (@oauth2-client-credentials)
options:
  _input:
    description: A token result dictionary with an C(expires_at) key.
    type: dict
    required: true
  seconds:
    description: How many seconds from now count as expiring.
    type: float
    default: 0
"""

EXAMPLES = r"""
- name: Fail early if the shared token will not last for the deployment
  ansible.builtin.assert:
    that: oauth2_token is not oauth2.client_credentials.token_expiring(300)
    fail_msg: The token expires within 5 minutes; ask the provider for longer-lived tokens.

- name: Only a fresh token is good enough for this long job
  ansible.builtin.debug:
    msg: The token has expired
  when: token is oauth2.client_credentials.token_expiring
"""

RETURN = r"""
_value:
  description: Whether the token expires within O(seconds) (or already has); false when its expiry is unknown.
  type: bool
"""

import math
import time
from typing import Any, Mapping

from ansible.errors import AnsibleFilterError


def token_expiring(token: Mapping[str, Any], seconds: float = 0) -> bool:
    """Epoch seconds against epoch seconds: no datetime, so no time zone can shift the answer."""
    if not isinstance(token, Mapping) or "expires_at" not in token:
        raise AnsibleFilterError("token_expiring expects a token result dictionary with expires_at, not %s." % type(token).__name__)
    try:
        margin = float(seconds)
    except (TypeError, ValueError):
        margin = math.nan
    if not math.isfinite(margin):
        raise AnsibleFilterError("token_expiring(seconds) needs a finite number of seconds, not %r." % (seconds,))
    expires_at = token["expires_at"]
    if expires_at is None:
        return False
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
        raise AnsibleFilterError("token_expiring: expires_at must be epoch seconds or null, not %s." % type(expires_at).__name__)
    return expires_at <= time.time() + margin


class TestModule:
    """The collection's Jinja tests."""

    def tests(self):
        return {"token_expiring": token_expiring}
