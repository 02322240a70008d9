# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The token lookup's full path, for a call its memo cannot answer. Internal use only; the lookup loads it on a miss.

The options are resolved and checked, the token comes from the cache or the provider, and the memo is left so that the
next call with the same options goes no further than cache_read.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ansible.errors import AnsibleLookupError

from ansible_collections.oauth2.client_credentials.plugins.module_utils.cache_read import OptionsMemo
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error
from ansible_collections.oauth2.client_credentials.plugins.module_utils.secret_masking import mask_options
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.controller_options import resolve_options
from ansible_collections.oauth2.client_credentials.plugins.plugin_utils.refusal import explain_refusal


def full_token(plugin: Any, variables: Optional[Mapping[str, Any]], direct: Mapping[str, Any], find_file: Callable[[str], Optional[str]],
               templated: Optional[Dict[str, Any]], memo: Optional[OptionsMemo]) -> Tuple[Dict[str, Any], Any]:
    """The token result and the output form, for a lookup plugin whose memo keyed by the inputs (memo) missed or could not
    be had (None, and then its memo is keyed by the resolved values); templated are the declared variables, if templated."""
    try:
        options = resolve_options(plugin, variables, direct, plugin._templar, plugin._loader,  # pylint: disable=protected-access
                                  find_file, var_options=templated)
    except OAuth2Error as exc:
        raise AnsibleLookupError(str(exc)) from None
    display = plugin._display  # pylint: disable=protected-access
    for warning in options.warnings:
        display.warning(warning)
    values = dict(options.values)
    output = values.pop("output")
    mask_options(values.get)
    hit = None
    if memo is None:
        memo = OptionsMemo(values, values)
        hit = memo.cached_token()
    if hit:
        result, warnings, provenance = hit
        display.vvv(provenance())
    else:
        try:
            client_options = ClientOptions.from_mapping(values)
            client = TokenClient(client_options)
        except OAuth2Error as exc:
            raise AnsibleLookupError(str(exc)) from None
        try:
            result = client.get_token()
        except OAuth2Error as exc:
            raise AnsibleLookupError(explain_refusal(options, str(exc), exc.error_code, client_options.auth_method)) from None
        finally:
            for line in client.debug:
                display.vvv(line)
        client.remember(memo)
        warnings = client.warnings
    for warning in warnings:
        display.warning(warning)
    return result, output
