#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: token
short_description: Obtain an OAuth 2.0 access token with the client credentials grant and set it as a fact
version_added: 0.1.0
description:
  - Requests an access token from an OAuth 2.0 / OpenID Connect provider (OneLogin, Okta, Auth0, Entra ID, Keycloak, ...)
    with the client credentials grant (RFC 6749 section 4.4).
  - Returns it as the fact named by O(fact_name) and as RV(token), so later tasks, on this host or on every host
    with C(run_once), can call protected APIs.
  - Runs with an action plugin on the controller that decrypts a vault-encrypted O(credentials_file) (the file never has
    to exist on the target), reads the same C(oauth2_<option>) variables and E(ANSIBLE_OAUTH2_<OPTION>) environment
    variables as the P(oauth2.client_credentials.token#lookup) lookup.
  - >-
    A successful result carries the token, so the action plugin marks it C(no_log) itself: the output and the log show
    Ansible's standard notice that the result was hidden ("'no_log: true' was specified for this result") even where
    the task does not say C(no_log), while C(register) and the fact keep the real values. An explicit C(no_log: false)
    on the task shows the result for debugging, the token included before ansible-core 2.22. Failures are never
    hidden; they carry no token.
  - On ansible-core 2.22 and later the token and the credentials are registered with ansible-core's secret masking,
    so wherever Ansible would display them, later tasks included, it shows C($REDACTED$).
  - Changes nothing anywhere, so it also obtains the token in check mode and always reports C(changed=false).
author:
  - oauth2.client_credentials maintainers (@oauth2-client-credentials)
requirements:
  - requests (where the module runs)
  - PyJWT (where the module runs)
options:
  fact_name:
    description:
      - Name of the fact that receives the token result; must be a valid variable name.
      - Read it as C(ansible_facts.<fact_name>). Module facts are also injected as top-level variables today, but
        ansible-core deprecates that (C(INJECT_FACTS_AS_VARS) turns false by default in 2.24).
      - Facts returned by a module are written to a configured fact cache; to keep the token out of it, set an empty
        string (only RV(token) is returned) and share it with M(ansible.builtin.set_fact), as the
        C(oauth2.client_credentials.api_token) role does.
    type: str
    default: oauth2_token
extends_documentation_fragment:
  - oauth2.client_credentials.token_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - oauth2.client_credentials.token_options.modules
attributes:
  check_mode:
    support: full
    details: Obtains a token in check mode too, so later tasks of a check run work.
notes:
  - Decoded RV(token.claims) are informational unless O(validate_token) is on and RV(token.claims_verified) is true.
  - A O(client_secret), O(private_key_passphrase), O(private_key), O(client_key_content) or O(client_assertion) shorter
    than 8 characters is refused, because before ansible-core 2.22 Ansible blanks every occurrence of a C(no_log) value
    in a module's result and would garble a token or claim that happens to contain it; the lookup accepts them.
  - With a persistent fact cache configured (for example C(jsonfile)), a warning says that the fact O(fact_name) will
    be stored there; the C(oauth2.client_credentials.api_token) role, or O(fact_name=) with C(register), keeps the token out.
  - Options may also come from C(oauth2_<option>) variables and E(ANSIBLE_OAUTH2_<OPTION>) environment variables
    (except O(extra_params), variables only); task arguments take precedence, then those, then O(credentials_file).
seealso:
  - plugin: oauth2.client_credentials.token
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Obtain a token and keep it as the oauth2_token fact
  oauth2.client_credentials.token:
    issuer: https://example.onelogin.com/oidc/2
    client_id: "{{ vault_client_id }}"
    client_secret: "{{ vault_client_secret }}"
    scope: [read]

- name: Use it
  ansible.builtin.uri:
    url: https://api.example.com/v1/things
    headers:
      Authorization: "{{ ansible_facts.oauth2_token.authorization }}"
  no_log: true  # uri shows its arguments, the token included, at -vvv

- name: One token request for the whole play, made on the controller, as a fact on every host
  oauth2.client_credentials.token:
    credentials_file: creds.vault.yml   # ansible-vault encrypt creds.vault.yml; found like files/ of the play
    token_url: https://example.eu.auth0.com/oauth/token
    audience: https://api.example.com/
    auth_method: client_secret_post
  run_once: true
  delegate_to: localhost

- name: No secret in a CI job, its identity token instead (requested and written to this file by the job)
  oauth2.client_credentials.token:
    token_url: https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token
    client_id: 11111111-1111-1111-1111-111111111111
    scope: [https://graph.microsoft.com/.default]
    client_assertion_file: "{{ lookup('ansible.builtin.env', 'RUNNER_TEMP') }}/id-token"
  run_once: true
  delegate_to: localhost

- name: Register the result instead of a named fact
  oauth2.client_credentials.token:
    issuer: https://idp.example.com
    client_id: "{{ vault_client_id }}"
    client_secret: "{{ vault_client_secret }}"
    fact_name: ""
  register: api
- ansible.builtin.debug:
    msg: "Token valid until {{ api.token.expires_at }}"

- name: Set common options once for every task of the group
  module_defaults:
    group/oauth2.client_credentials.oauth2:
      issuer: https://idp.example.com
      credentials_file: creds.vault.yml
  block:
    - name: A token for reading
      oauth2.client_credentials.token:
        scope: [read]
        fact_name: read_token
    - name: A token for writing
      oauth2.client_credentials.token:
        scope: [write]
        fact_name: write_token
"""

RETURN = r"""
token:
  description:
    - The token result, the same dictionary the P(oauth2.client_credentials.token#lookup) lookup returns with C(output=full).
  returned: success
  type: dict
  contains:
    access_token:
      description: The access token.
      type: str
      returned: success
    token_type:
      description: The token type, normally C(Bearer).
      type: str
      returned: success
    expires_in:
      description: Seconds the token was valid for when issued, from the response or else the token's C(exp) claim; null when unknown.
      type: int
      returned: success
    expires_at:
      description: When the token expires, in Unix epoch seconds; null when unknown.
      type: int
      returned: success
    scope:
      description: The scope the provider granted, space-separated, or null when the provider did not say.
      type: str
      returned: success
    authorization:
      description: The ready C(Authorization) header value, for example C(Bearer eyJ...).
      type: str
      returned: success
    claims:
      description:
        - The token's JWT payload. Verified when RV(token.claims_verified) is true; otherwise decoded WITHOUT verifying its
          signature, informational only. Empty for opaque tokens.
      type: dict
      returned: success
    claims_verified:
      description:
        - True when O(validate_token) verified the token's signature and claims before it was handed out (or cached);
          false whenever validation was not done.
      type: bool
      returned: success
oauth2_error:
  description:
    - The provider's OAuth error code when it refused the request. For C(invalid_client) and C(unauthorized_client)
      the message also says where the client id and the credentials of the O(auth_method) came from (argument, variable,
      environment, C(ansible.cfg), O(credentials_file), or the file they were read from), never their values.
  returned: when the provider refused the request
  type: str
  sample: invalid_client
"""

import keyword
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import (
    CLIENT_ARGUMENT_SPEC,
    DEFAULT_FACT_NAME,
    ClientOptions,
    too_short_for_no_log,
)
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient, missing_libraries

VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(CLIENT_ARGUMENT_SPEC, fact_name={"type": "str", "default": DEFAULT_FACT_NAME}),
        supports_check_mode=True,
    )
    missing = missing_libraries()
    if missing:
        module.fail_json(msg=missing_required_lib(" and ".join(missing)))
    if module.params["credentials_file"]:
        module.fail_json(msg="credentials_file is read by the action plugin on the controller; run this module as a task, not directly.")
    fact_name = module.params["fact_name"]
    if fact_name and not VARIABLE_NAME.match(fact_name) or keyword.iskeyword(fact_name):
        module.fail_json(msg="fact_name %r is not a valid variable name: use letters, digits and underscores, not starting with a digit, "
                             "or an empty string for no fact." % fact_name)
    too_short = too_short_for_no_log(module.params)
    if too_short:
        module.fail_json(msg=too_short)
    try:
        client = TokenClient(ClientOptions.from_mapping(module.params))
    except OAuth2Error as exc:
        module.fail_json(msg=str(exc))
    try:
        token = client.get_token()
    except OAuth2Error as exc:
        module.fail_json(msg=str(exc), oauth2_debug=client.debug, **({"oauth2_error": exc.error_code} if exc.error_code else {}))
    for warning in client.warnings:
        module.warn(warning)
    module.exit_json(changed=False, token=token, ansible_facts={fact_name: token} if fact_name else {}, oauth2_debug=client.debug)


if __name__ == "__main__":
    main()
