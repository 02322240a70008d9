# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One request to a protected API, where the api_call task runs: its body, its headers, and the answer as a dict.

The controller checks the same arguments with check_arguments before it obtains a token, so a typo costs no token
request; the module builds and sends the request with send_request. It uses ansible-core's own HTTP client, so a
managed host needs nothing but Python, as for ansible.builtin.uri.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlencode

from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error, shown

BODY_FORMATS = ("json", "form-urlencoded", "raw")
# As the token endpoint's timeout: beyond ten minutes a value is a typo, and the task would seem to hang.
MAX_TIMEOUT = 600
CONTENT_TYPES = {"json": "application/json", "form-urlencoded": "application/x-www-form-urlencoded"}
# Methods that only read, as uri counts them: the task reports changed=false for them and sends them in check mode too.
SAFE_METHODS = ("GET", "HEAD")
# The headers api_call sets from the token; one given in headers would be a second, conflicting credential.
TOKEN_HEADERS = ("authorization", "dpop")
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


class ApiArguments:
    """The checked request arguments of an api_call task."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        method = "GET" if params.get("method") is None else params["method"]
        if not isinstance(method, str) or not _METHOD.match(method):
            raise OAuth2Error("method %s is not an HTTP method: use GET, POST, PUT, PATCH, DELETE or another method name." % shown(method))
        self.method = method.upper()
        self.url: str = params["url"]
        body_format = params.get("body_format") or "raw"
        if body_format not in BODY_FORMATS:
            raise OAuth2Error("body_format %s is not supported: use one of %s." % (shown(body_format), ", ".join(BODY_FORMATS)))
        self.body, content_type = _encoded_body(params.get("body"), body_format)
        self.headers = _headers(params.get("headers"))
        if content_type and not any(name.lower() == "content-type" for name in self.headers):
            self.headers["Content-Type"] = content_type
        self.status_code = _status_codes(params.get("status_code"))
        self.return_content = _flag(params, "return_content", False)
        self.validate_certs = _flag(params, "api_validate_certs", True)
        self.timeout = _timeout(params.get("api_timeout"))

    @property
    def changes(self) -> bool:
        return self.method not in SAFE_METHODS


def _encoded_body(body: Any, body_format: str) -> Tuple[Optional[bytes], Optional[str]]:
    """The body as bytes, and the Content-Type its format implies; a string is sent as it is, whatever the format."""
    if body is None:
        return None, None
    content_type = CONTENT_TYPES.get(body_format)
    if isinstance(body, str):
        return body.encode("utf-8"), content_type
    if body_format == "json":
        try:
            # NaN and Infinity (YAML's .nan, .inf) are no JSON: an API's parser would refuse the body.
            return json.dumps(body, allow_nan=False).encode("utf-8"), content_type
        except (TypeError, ValueError) as exc:
            raise OAuth2Error("body cannot be encoded as JSON (%s): give data made of mappings, lists, strings, numbers, booleans and null."
                              % shown(str(exc))) from None
    if body_format == "form-urlencoded":
        return urlencode(_form_fields(body)).encode("ascii"), content_type
    raise OAuth2Error("body is a %s, but body_format raw sends a string as it is: give the body as a string, or set body_format "
                      "to json or form-urlencoded." % _kind(body))


def _form_fields(body: Any) -> List[Tuple[str, str]]:
    pairs = list(body.items()) if isinstance(body, Mapping) else body
    if not isinstance(pairs, list) or not all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in pairs):
        raise OAuth2Error("body is a %s, but body_format form-urlencoded needs a mapping of field names to values (or a list of "
                          "name-value pairs, or the encoded string)." % _kind(body))
    fields: List[Tuple[str, str]] = []
    for name, value in pairs:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                item = "true" if item else "false"
            if not isinstance(item, (str, int, float)):
                raise OAuth2Error("body field %s holds a %s, which a form-urlencoded body cannot carry: use strings, numbers, booleans "
                                  "or lists of those, or body_format json." % (shown(str(name)), _kind(item)))
            fields.append((str(name), str(item)))
    return fields


def _headers(headers: Any) -> Dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise OAuth2Error("headers must be a mapping of header names to values, not a %s." % _kind(headers))
    checked: Dict[str, str] = {}
    for name, value in headers.items():
        if str(name).lower() in TOKEN_HEADERS:
            raise OAuth2Error("headers may not set %s: api_call sets it from the token it obtains; remove it." % shown(str(name)))
        if isinstance(value, (Mapping, list)) or value is None:
            raise OAuth2Error("headers: %s must be a string or a number, not a %s." % (shown(str(name)), _kind(value)))
        text = str(value)
        if "\r" in text or "\n" in text or "\r" in str(name) or "\n" in str(name):
            raise OAuth2Error("headers: %s contains a line break, which would start another header: remove it." % shown(str(name)))
        checked[str(name)] = text
    return checked


def _status_codes(value: Any) -> Tuple[int, ...]:
    codes = [200] if value is None else value if isinstance(value, list) else [value]
    try:
        numbers = tuple(int(str(code)) for code in codes)
    except ValueError:
        numbers = ()
    if not numbers or not all(100 <= number <= 599 for number in numbers):
        raise OAuth2Error("status_code must be a list of HTTP status codes from 100 to 599, not %s." % shown(value))
    return numbers


def _flag(params: Mapping[str, Any], name: str, default: bool) -> bool:
    """A boolean as Ansible reads one (true, yes, on, 1 ...); any other word is refused, never read as false."""
    from ansible.module_utils.parsing.convert_bool import boolean  # pylint: disable=import-outside-toplevel

    value = params.get(name)
    if value is None:
        return default
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise OAuth2Error("%s must be true or false, not %s." % (name, shown(value if isinstance(value, str) else _kind(value)))) from None


def _timeout(value: Any) -> float:
    try:
        seconds = float(30 if value is None else value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= MAX_TIMEOUT:
        raise OAuth2Error("api_timeout must be a number of seconds above 0 and at most %d, not %s." % (MAX_TIMEOUT, shown(str(value))))
    return seconds


def _kind(value: Any) -> str:
    """What a value is, in a user's words; ansible-core's own subclasses of dict, list and str say nothing to a user."""
    for kind, name in ((bool, "boolean"), (Mapping, "mapping"), (list, "list"), (str, "string"), ((int, float), "number")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def send_request(arguments: ApiArguments, auth_headers: Mapping[str, str], ca_path: Optional[str]) -> Dict[str, Any]:
    """Send the request once, redirects not followed (they would carry the token elsewhere), and describe the answer,
    whatever its status; a request that gets no answer raises OAuth2Error."""
    import socket  # pylint: disable=import-outside-toplevel
    import ssl  # pylint: disable=import-outside-toplevel
    from urllib.error import HTTPError, URLError  # pylint: disable=import-outside-toplevel

    from ansible.module_utils.urls import Request  # pylint: disable=import-outside-toplevel

    url, timeout = arguments.url, arguments.timeout
    request = Request(validate_certs=arguments.validate_certs, ca_path=ca_path, timeout=timeout, follow_redirects="none",
                      # Plain http is loopback only, and must not reach a proxy in cleartext with the token.
                      use_proxy=not url.lower().startswith("http:"))
    try:
        try:
            response = request.open(arguments.method, url, data=arguments.body, headers=dict(arguments.headers, **auth_headers))
        except HTTPError as answer:
            response = answer
        with response:
            content = response.read()
            status = response.getcode()
            headers: Dict[str, str] = {}
            for name, value in response.headers.items():
                # Repeated headers joined, as ansible.builtin.uri does: a DPoP challenge may come beside a Bearer one.
                headers[name.lower()] = headers[name.lower()] + ", " + value if name.lower() in headers else value
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise OAuth2Error("API %s failed TLS verification (%s): set api_ca_path to the CA that issued the API's certificate."
                          % (url, getattr(exc, "reason", None) or exc)) from None
    except (socket.timeout, TimeoutError):
        raise OAuth2Error("API %s did not answer within %g seconds: check that it is reachable, or raise api_timeout." % (url, timeout)) from None
    except URLError as exc:
        reason = exc.reason
        if isinstance(reason, (ssl.SSLError, ssl.CertificateError)):
            raise OAuth2Error("API %s failed TLS verification (%s): set api_ca_path to the CA that issued the API's certificate."
                              % (url, getattr(reason, "reason", None) or reason)) from None
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise OAuth2Error("API %s did not answer within %g seconds: check that it is reachable, or raise api_timeout." % (url, timeout)) from None
        raise OAuth2Error("API %s is unreachable (%s): check the URL, proxies and firewalls." % (url, shown(str(reason)))) from None
    except (OSError, ValueError) as exc:
        raise OAuth2Error("API %s failed (%s): check the URL and the API." % (url, shown(str(exc)))) from None
    return {"status": status, "headers": headers, "url": url, "content": content.decode("utf-8", "replace")}


def parsed_json(answer: Mapping[str, Any]) -> Any:
    """The answer's body as JSON, when the API says it is JSON and it parses; else None."""
    if "json" not in str(answer.get("headers", {}).get("content-type", "")).lower():
        return None
    try:
        return json.loads(answer.get("content") or "")
    except ValueError:
        return None
