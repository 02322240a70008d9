# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: token
short_description: Obtain an OAuth 2.0 access token with the client credentials grant
version_added: 0.1.0
description:
  - Requests an access token from an OAuth 2.0 / OpenID Connect provider (OneLogin, Okta, Auth0, Entra ID, Keycloak, ...)
    with the client credentials grant (RFC 6749 section 4.4) and returns it for use in later tasks.
  - Credentials usually come from Ansible Vault, either as vault-encrypted variables or as a vault-encrypted O(credentials_file).
  - Every option can also be set by an C(oauth2_<option>) variable, and, except O(extra_params), by an
    E(ANSIBLE_OAUTH2_<OPTION>) environment variable or the C([oauth2_client_credentials]) section of C(ansible.cfg)
    (not O(client_secret)). Keyword arguments take precedence.
  - Only the C(oauth2_<option>) variables of the options below are read, and only for options not given as keyword
    arguments; other variables whose names start with C(oauth2_) are never evaluated.
  - When the provider refuses the client (C(invalid_client), C(unauthorized_client)), the error says where the client id
    and the credentials of the O(auth_method) came from (the secret, the private key, the client certificate and its key, or
    the client assertion),
    as argument, variable, environment, C(ansible.cfg), O(credentials_file) or the file they were read from, never their values.
  - The client secret is never shown in messages. The returned token is a secret too. On ansible-core 2.22 and later it is
    registered with ansible-core's secret masking, so Ansible shows C($REDACTED$) wherever it would display it; on older
    lines set C(no_log) on tasks that print it.
  - Takes no positional terms.
author:
  - oauth2.client_credentials maintainers (@oauth2-client-credentials)
requirements:
  - requests
  - PyJWT
options:
  output:
    description:
      - What to return.
      - V(access_token) returns the bare token string.
      - V(header) returns the C(Authorization) header value, for example C(Bearer eyJ...).
      - V(full) returns the token result dictionary described under RV(_raw).
    type: str
    choices: [access_token, header, full]
    default: access_token
    env:
      - name: ANSIBLE_OAUTH2_OUTPUT
    ini:
      - section: oauth2_client_credentials
        key: output
    vars:
      - name: oauth2_output
extends_documentation_fragment:
  - oauth2.client_credentials.token_options
  - oauth2.client_credentials.token_options.plugins
notes:
  - Decoded C(claims) are informational unless O(validate_token) is on and C(claims_verified) is true.
seealso:
  - module: oauth2.client_credentials.token
"""

EXAMPLES = r"""
- name: Call an API with a token from OneLogin (credentials from vault-encrypted variables)
  ansible.builtin.uri:
    url: https://api.example.com/v1/things
    headers:
      Authorization: "{{ lookup('oauth2.client_credentials.token', output='header',
                          issuer='https://example.onelogin.com/oidc/2',
                          client_id=vault_client_id, client_secret=vault_client_secret, scope=['read']) }}"
  no_log: true  # uri shows its arguments, the token included, at -vvv; oauth2.client_credentials.api_call never does

- name: Auth0 wants an audience, and the token endpoint directly
  ansible.builtin.set_fact:
    api_token: "{{ lookup('oauth2.client_credentials.token',
                    token_url='https://example.eu.auth0.com/oauth/token',
                    audience='https://api.example.com/',
                    auth_method='client_secret_post',
                    client_id=vault_client_id, client_secret=vault_client_secret) }}"
  no_log: true

- name: Credentials in a vault-encrypted file (ansible-vault encrypt creds.yml), run with --vault-password-file
  ansible.builtin.debug:
    msg: "Token expires at {{ token.expires_at }} with scope {{ token.scope }}"
  vars:
    token: "{{ lookup('oauth2.client_credentials.token', credentials_file='creds.yml', output='full') }}"

- name: A token whose signature and claims are verified first (iss, aud, exp, and the provider's published keys)
  ansible.builtin.set_fact:
    api_token: "{{ lookup('oauth2.client_credentials.token', output='full', validate_token=true,
                    issuer='https://example.onelogin.com/oidc/2', resource=['https://api.example.com/'],
                    client_id=vault_client_id, client_secret=vault_client_secret) }}"
  no_log: true

- name: Configured entirely by oauth2_* variables (group_vars) or ANSIBLE_OAUTH2_* environment variables in CI
  ansible.builtin.uri:
    url: https://api.example.com/v1/things
    headers:
      Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - One element, by O(output) the access token string, the C(Authorization) header value, or this dictionary.
  type: list
  elements: raw
  contains:
    access_token:
      description: The access token.
      type: str
    token_type:
      description: The token type, normally C(Bearer).
      type: str
    expires_in:
      description:
        - Seconds the token was valid for when issued, from the response or else the token's C(exp) claim; null when unknown.
      type: int
    expires_at:
      description: When the token expires, in Unix epoch seconds; null when unknown.
      type: int
    scope:
      description: The scope the provider granted, space-separated, or null when the provider did not say.
      type: str
    authorization:
      description: The ready C(Authorization) header value, for example C(Bearer eyJ...).
      type: str
    claims:
      description:
        - The token's JWT payload. Verified when RV(_raw[].claims_verified) is true; otherwise decoded WITHOUT verifying its
          signature, informational only. Empty for opaque tokens.
      type: dict
    claims_verified:
      description:
        - True when O(validate_token) verified the token's signature and claims before it was handed out (or cached);
          false whenever validation was not done.
      type: bool
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.option_inputs import option_inputs

OUTPUT_FIELDS = {"access_token": "access_token", "header": "authorization"}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("oauth2.client_credentials.token takes no positional terms: pass options as keyword arguments.")

        def find_file(path):
            return self.find_file_in_search_path(variables, "files", os.path.expanduser(path), ignore_missing=True)

        templated, memo, output = option_inputs(self, variables, kwargs, self._templar, find_file)
        hit = memo and memo.cached_token()
        if hit:
            # Options with these very inputs were checked, and answered with this token, before: nothing else needs loading.
            result, warnings, provenance = hit
            if self._display.verbosity >= 3:
                self._display.vvv(provenance())
            for warning in warnings:
                self._display.warning(warning)
        else:
            from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.full_lookup import full_token  # pylint: disable=import-outside-toplevel

            result, output = full_token(self, variables, kwargs, find_file, templated, memo)
        return [result if output == "full" else result[OUTPUT_FIELDS[output]]]
