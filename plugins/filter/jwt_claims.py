# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: jwt_claims
short_description: The claims of a JWT, decoded WITHOUT verifying it
version_added: 0.1.0
description:
  - Decodes the payload of a JSON Web Token, such as an access token from the P(oauth2.client_credentials.token#lookup)
    lookup, for display and debugging.
  - The signature and the claims are NOT verified, so nothing in the result may be trusted for a security decision.
    To rely on a token's claims, obtain it with O(oauth2.client_credentials.token#lookup:validate_token=true) and read
    its C(claims) when C(claims_verified) is true.
  - A value that is not a JWT fails with an error that gives its length, never the value itself, which may be a secret.
author:
  - oauth2.client_credentials maintainers (@oauth2-client-credentials)
requirements:
  - PyJWT
options:
  _input:
    description: A JWT, three base64url parts separated by dots whose second is a JSON object.
    type: str
    required: true
seealso:
  - plugin: oauth2.client_credentials.token
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Show whom a token was issued to and when it expires
  ansible.builtin.debug:
    msg: "client {{ claims.client_id }}, audience {{ claims.aud }}, expires {{ claims.exp }}"
  vars:
    claims: "{{ lookup('oauth2.client_credentials.token') | oauth2.client_credentials.jwt_claims }}"

- name: Inspect a token taken from elsewhere, for example an environment variable
  ansible.builtin.debug:
    var: lookup('ansible.builtin.env', 'API_TOKEN') | oauth2.client_credentials.jwt_claims
"""

RETURN = r"""
_value:
  description: The token's claims (its payload), unverified.
  type: dict
  sample: {"iss": "https://idp.example.com", "aud": "https://api.example.com/", "client_id": "app", "exp": 1700000600}
"""

from typing import Any, Callable, Dict

from ansible.errors import AnsibleFilterError

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import missing_libraries
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_response import jwt_payload


def jwt_claims(value: Any) -> Dict[str, Any]:
    """Only the length of a refused value is told: what looked wrong may still be someone's token."""
    if not isinstance(value, str):
        raise AnsibleFilterError("jwt_claims expects a JWT string, not %s." % type(value).__name__)
    if "PyJWT" in missing_libraries():
        raise AnsibleFilterError("jwt_claims needs the Python package PyJWT on the controller: pip install PyJWT")
    try:
        return jwt_payload(value.strip())
    except OAuth2Error as exc:
        raise AnsibleFilterError("jwt_claims: %s" % exc) from None


class FilterModule:
    def filters(self) -> Dict[str, Callable[..., Any]]:
        return {"jwt_claims": jwt_claims}
