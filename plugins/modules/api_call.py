#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: api_call
short_description: Call a protected API with a client-credentials token, refreshed once on a 401, DPoP included
version_added: 0.1.0
description:
  - Calls an HTTP API with an access token obtained with the client credentials grant (RFC 6749 section 4.4), in one task
    and without the token ever appearing in the task's arguments, result or output.
  - The token comes from the token cache on the controller, as the P(oauth2.client_credentials.token#lookup) lookup's
    does, so a play of many hosts makes one token request. The same C(oauth2_<option>) variables, E(ANSIBLE_OAUTH2_<OPTION>)
    environment variables, O(credentials_file) and C(module_defaults) group apply as for the M(oauth2.client_credentials.token) module.
  - The request itself is made where the task runs, like M(ansible.builtin.uri); use C(delegate_to=localhost) to make it
    from the controller. The host needs only Python.
  - When the API answers HTTP 401 to a token from the cache (revoked, rotated or cut short at the provider), the cached
    token is dropped, one fresh token is obtained, and the request is made once more; RV(token_refreshed) then says so.
    A 401 to a token obtained for this very call, or a second 401, fails the task with the API's C(WWW-Authenticate) error.
  - With O(dpop=true) the token is DPoP-bound (RFC 9449), as Okta requires by default. Every request carries
    the token as C(DPoP <token>) in C(Authorization) and a fresh proof bound to the method, the URL and the token, made on the controller,
    so the DPoP key never leaves it. A resource server's C(use_dpop_nonce) challenge is answered once with its nonce.
  - Any other status is checked against O(status_code). Retrying rate limits and server errors (429, 5xx) is left to
    the task's C(until), C(retries) and C(delay).
author:
  - oauth2.client_credentials maintainers (@oauth2-client-credentials)
options:
  url:
    description:
      - The API's URL. Must use C(https://); plain C(http://) is refused except for loopback hosts, and redirects are not
        followed, because they would carry the token elsewhere. A 3xx answer is returned like any other status.
    type: str
    required: true
  method:
    description:
      - The HTTP method.
    type: str
    default: GET
  body:
    description:
      - The request body, encoded as O(body_format) says; a string is sent as it is.
    type: raw
  body_format:
    description:
      - How O(body) is encoded. V(json) and V(form-urlencoded) also set the C(Content-Type) header unless O(headers) does.
      - V(raw) sends a string body as it is.
    type: str
    choices: [json, form-urlencoded, raw]
    default: raw
  headers:
    description:
      - Further request headers. C(Authorization) and C(DPoP) are set from the token and may not be given.
    type: dict
  status_code:
    description:
      - The status codes that mean success; any other fails the task, with the answer in the result.
    type: list
    elements: int
    default: [200]
  return_content:
    description:
      - Return the body as RV(content). A JSON body is returned as RV(json) either way.
    type: bool
    default: false
  api_ca_path:
    description:
      - A PEM file of the CA that issued the API's certificate, where the task runs. O(ca_path) is the token endpoint's.
    type: path
  api_validate_certs:
    description:
      - Whether the API's certificate is verified. O(validate_certs) is the token endpoint's.
    type: bool
    default: true
  api_timeout:
    description:
      - Seconds to wait for the API. O(timeout) is the token endpoint's.
    type: float
    default: 30
  authorization:
    description:
      - Internal, set by the action plugin from the token it obtains; a value in the task is refused.
    type: str
  dpop_proof:
    description:
      - Internal, set by the action plugin for a DPoP-bound token; a value in the task is refused.
    type: str
attributes:
  check_mode:
    support: partial
    details: GET and HEAD are sent in check mode too; other methods are not sent, and the task reports C(changed).
notes:
  - The lookup and the M(oauth2.client_credentials.token) module also obtain DPoP-bound tokens, but a DPoP token needs a
    proof made for every request, which only this module makes.
  - On ansible-core 2.22 and later the token and the proofs are registered with ansible-core's secret masking too.
extends_documentation_fragment:
  - oauth2.client_credentials.token_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - oauth2.client_credentials.token_options.modules
seealso:
  - module: oauth2.client_credentials.token
  - plugin: oauth2.client_credentials.token
    plugin_type: lookup
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Read from the API with a token from OneLogin (credentials from vault-encrypted variables)
  oauth2.client_credentials.api_call:
    url: https://api.example.com/v1/things
    issuer: https://example.onelogin.com/oidc/2
    client_id: "{{ vault_client_id }}"
    client_secret: "{{ vault_client_secret }}"
    scope: [read]
  register: things

- name: Create something; options from oauth2_* variables (group_vars) or ANSIBLE_OAUTH2_* in CI
  oauth2.client_credentials.api_call:
    url: https://api.example.com/v1/things
    method: POST
    body: {name: web01, tags: [prod]}
    body_format: json
    status_code: [200, 201]

- name: Okta API services app that requires DPoP; the request is made from the controller
  oauth2.client_credentials.api_call:
    url: https://example.okta.com/api/v1/users?limit=5
    token_url: https://example.okta.com/oauth2/v1/token
    client_id: "{{ vault_okta_client_id }}"
    private_key_path: okta-key.vault.pem
    scope: [okta.users.read]
    dpop: true
  delegate_to: localhost

- name: Retry rate limits and server errors of the API with the task's own keywords
  oauth2.client_credentials.api_call:
    url: https://api.example.com/v1/report
    credentials_file: creds.vault.yml
    token_url: https://idp.example.com/oauth2/token
  register: report
  until: report.status not in [429, 502, 503, 504]
  retries: 5
  delay: 10
  failed_when: report.status != 200
"""

RETURN = r"""
status:
  description: The HTTP status of the API's answer.
  returned: when the API answered
  type: int
  sample: 200
json:
  description: The body, parsed, when the API says it is JSON.
  returned: when the answer is JSON
  type: raw
content:
  description: The body as text.
  returned: when O(return_content) is true
  type: str
headers:
  description: The answer's headers, names in lower case.
  returned: when the API answered
  type: dict
url:
  description: The URL called.
  returned: always
  type: str
token_refreshed:
  description: True when the API refused a cached token and the call was made again with a fresh one.
  returned: always
  type: bool
oauth2_error:
  description: The provider's OAuth error code when it refused the token request.
  returned: when the provider refused the token request
  type: str
  sample: invalid_client
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.oauth2.client_credentials.plugins.module_utils.api_request import BODY_FORMATS, ApiArguments, parsed_json, send_request
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import CLIENT_ARGUMENT_SPEC
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error

API_ARGUMENT_SPEC = {
    "url": {"type": "str", "required": True},
    "method": {"type": "str", "default": "GET"},
    "body": {"type": "raw"},
    "body_format": {"type": "str", "choices": list(BODY_FORMATS), "default": "raw"},
    "headers": {"type": "dict"},
    "status_code": {"type": "list", "elements": "int", "default": [200]},
    "return_content": {"type": "bool", "default": False},
    "api_ca_path": {"type": "path"},
    "api_validate_certs": {"type": "bool", "default": True},
    "api_timeout": {"type": "float", "default": 30.0},
    "authorization": {"type": "str", "no_log": True},
    "dpop_proof": {"type": "str", "no_log": True},
}


def main() -> None:
    # The token options are read on the controller by the action plugin; they are declared here for the documentation.
    module = AnsibleModule(argument_spec=dict(CLIENT_ARGUMENT_SPEC, **API_ARGUMENT_SPEC), supports_check_mode=True)
    params = module.params
    if not params["authorization"]:
        module.fail_json(msg="api_call obtains its token in its action plugin on the controller; run it as a task, not directly.")
    credentials = {"Authorization": params["authorization"]}
    if params["dpop_proof"]:
        credentials["DPoP"] = params["dpop_proof"]
    try:
        arguments = ApiArguments(params)
        answer = send_request(arguments, credentials, params["api_ca_path"])
    except OAuth2Error as exc:
        module.fail_json(msg=str(exc), url=params["url"])
    answer["json"] = parsed_json(answer)
    module.exit_json(changed=arguments.changes, **answer)


if __name__ == "__main__":
    main()
