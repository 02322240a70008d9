# SPDX-License-Identifier: GPL-3.0-or-later
"""The api_call request: its arguments checked in one line that names the option, its body encoded, and one real
request to a loopback server with the answer described whatever its status."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import parse_qsl

import pytest

from ansible_collections.oauth2.client_credentials.plugins.module_utils.api_request import ApiArguments, send_request
from ansible_collections.oauth2.client_credentials.plugins.module_utils.dpop import nonce_requested
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error

URL = "https://api.example/v1/things"
CREDENTIALS = {"Authorization": "Bearer tok-1"}


def arguments(**params) -> ApiArguments:
    return ApiArguments(dict({"url": URL}, **params))


@pytest.mark.parametrize("params, message", [
    ({"method": "GET THINGS"}, r"method GET THINGS is not an HTTP method: use GET, POST"),
    ({"method": "GET\r\nX-Injected: 1"}, r"method GET\?\?X-Injected: 1 is not an HTTP method"),
    ({"method": 7}, r"method 7 is not an HTTP method"),
    ({"body_format": "xml"}, r"body_format xml is not supported: use one of json, form-urlencoded, raw\."),
    ({"body": {"name": "x"}}, r"body is a mapping, but body_format raw sends a string as it is: give the body as a string, or set body_format"),
    ({"body": ["a"], "body_format": "raw"}, r"body is a list, but body_format raw"),
    ({"body": {"name": {"first": "x"}}, "body_format": "form-urlencoded"},
     r"body field name holds a mapping, which a form-urlencoded body cannot carry: use strings, numbers, booleans or lists of those, or body_format json\."),
    ({"body": {"tags": [["a"]]}, "body_format": "form-urlencoded"}, r"body field tags holds a list, which a form-urlencoded body cannot"),
    ({"body": {"gone": None}, "body_format": "form-urlencoded"}, r"body field gone holds a null"),
    ({"body": 42, "body_format": "form-urlencoded"}, r"body is a number, but body_format form-urlencoded needs a mapping of field names"),
    ({"body": {"when": {1, 2}}, "body_format": "json"}, r"body cannot be encoded as JSON \(.*set.*\): give data made of mappings, lists"),
    ({"body": b"bytes", "body_format": "json"}, r"body cannot be encoded as JSON"),
    ({"headers": {"Authorization": "Bearer mine"}}, r"headers may not set Authorization: api_call sets it from the token it obtains"),
    ({"headers": {"AUTHORIZATION": "Bearer mine"}}, r"headers may not set AUTHORIZATION"),
    ({"headers": {"dpop": "proof"}}, r"headers may not set dpop"),
    ({"headers": {"DPoP": "proof"}}, r"headers may not set DPoP"),
    ({"headers": {"X-Note": "one\r\nX-Injected: 1"}}, r"headers: X-Note contains a line break, which would start another header: remove it\."),
    ({"headers": {"X-Note": "one\nX-Injected: 1"}}, r"headers: X-Note contains a line break"),
    ({"headers": {"X-Note\r\nX-Injected": "1"}}, r"headers: X-Note\?\?X-Injected contains a line break"),
    ({"headers": {"X-Note": ["a", "b"]}}, r"headers: X-Note must be a string or a number, not a list\."),
    ({"headers": {"X-Note": None}}, r"headers: X-Note must be a string or a number, not a null\."),
    ({"headers": "X-Note: 1"}, r"headers must be a mapping of header names to values, not a string\."),
    ({"status_code": "ok"}, r"status_code must be a list of HTTP status codes from 100 to 599, not ok\."),
    ({"status_code": [200, 99]}, r"status_code must be a list of HTTP status codes from 100 to 599, not \[200, 99\]\."),
    ({"status_code": [600]}, r"status_code must be a list"),
    ({"status_code": []}, r"status_code must be a list"),
    ({"status_code": [True]}, r"status_code must be a list"),
])
def test_bad_arguments_are_one_line_naming_the_option(params, message):
    with pytest.raises(OAuth2Error, match="^" + message) as caught:
        arguments(**params)
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)


@pytest.mark.parametrize("number", [float("nan"), float("inf")])
def test_a_number_json_cannot_carry_is_refused(number):
    """YAML's .nan and .inf are floats; sent as NaN or Infinity they make the body invalid JSON for the API."""
    with pytest.raises(OAuth2Error, match=r"^body cannot be encoded as JSON"):
        arguments(body={"ratio": number}, body_format="json")


@pytest.mark.parametrize("params, body, content_type", [
    ({"body": {"name": "x", "tags": ["a", "b"], "on": True, "n": None}, "body_format": "json"},
     {"name": "x", "tags": ["a", "b"], "on": True, "n": None}, "application/json"),
    ({"body": [1, 2.5, "three"], "body_format": "json"}, [1, 2.5, "three"], "application/json"),
    ({"body": '{"as": "written"}', "body_format": "json"}, '{"as": "written"}', "application/json"),
    ({"body": {"tag": ["a b", "c&d"], "on": True, "off": False, "n": 3, "r": 1.5}, "body_format": "form-urlencoded"},
     [("tag", "a b"), ("tag", "c&d"), ("on", "true"), ("off", "false"), ("n", "3"), ("r", "1.5")], "application/x-www-form-urlencoded"),
    ({"body": [["a", "1"], ["a", "2"]], "body_format": "form-urlencoded"}, [("a", "1"), ("a", "2")], "application/x-www-form-urlencoded"),
    ({"body": "a=1&b=%20", "body_format": "form-urlencoded"}, "a=1&b=%20", "application/x-www-form-urlencoded"),
    ({"body": "plain text, é", "body_format": "raw"}, "plain text, é", None),
    ({"body": "plain text"}, "plain text", None),
    ({}, None, None),
], ids=["json-mapping", "json-list", "json-string-as-is", "form-lists-and-booleans", "form-pairs", "form-string-as-is", "raw", "raw-default",
        "no-body"])
def test_bodies_are_encoded_as_their_format_says(params, body, content_type):
    encoded = arguments(**params)
    if body is None or isinstance(body, str):
        assert encoded.body == (None if body is None else body.encode("utf-8"))
    elif content_type == "application/json":
        assert json.loads(encoded.body) == body
    else:
        assert parse_qsl(encoded.body.decode("ascii"), keep_blank_values=True) == body
    assert encoded.headers.get("Content-Type") == content_type


@pytest.mark.parametrize("given", ["content-type", "Content-Type", "CONTENT-TYPE"])
def test_a_content_type_given_in_headers_is_kept(given):
    encoded = arguments(body={"a": 1}, body_format="json", headers={given: "application/merge-patch+json", "X-Count": 2})
    assert encoded.headers == {given: "application/merge-patch+json", "X-Count": "2"}


@pytest.mark.parametrize("method, expected, changes", [
    (None, "GET", False), ("get", "GET", False), ("HEAD", "HEAD", False), ("options", "OPTIONS", True),
    ("post", "POST", True), ("PATCH", "PATCH", True), ("DELETE", "DELETE", True), ("PROPFIND", "PROPFIND", True),
])
def test_methods_are_upper_case_and_only_safe_ones_change_nothing(method, expected, changes):
    encoded = arguments(method=method)
    assert (encoded.method, encoded.changes) == (expected, changes)


@pytest.mark.parametrize("given, expected", [(None, (200,)), (201, (201,)), ("204", (204,)), ([200, "301", 401], (200, 301, 401))])
def test_status_codes(given, expected):
    assert arguments(status_code=given).status_code == expected


# -- send_request against the fake provider on loopback ------------------------------------------


def send(provider, path="/api", timeout=5.0, **params):
    return send_request(ApiArguments(dict({"url": provider.base_url + path, "api_timeout": timeout}, **params)), CREDENTIALS, None)


@pytest.mark.parametrize("status", [200, 201, 401, 404, 500])
def test_the_answer_is_described_whatever_its_status(provider, status):
    """A 401 or a 500 is an answer for the task to judge against status_code, not an exception here."""
    provider.answer("/api", status=status, body=b'{"id": "\xc3\xa9"}', headers={"X-Request-Id": "r-1", "WWW-Authenticate": 'Bearer error="x"'})
    answer = send(provider)
    assert (answer["status"], answer["url"], answer["content"]) == (status, provider.base_url + "/api", '{"id": "é"}')
    assert answer["headers"]["x-request-id"] == "r-1" and answer["headers"]["content-type"] == "application/json"
    assert all(name == name.lower() for name in answer["headers"])


def test_the_request_carries_the_method_body_headers_and_credentials(provider):
    provider.answer("/api", status=201)
    send(provider, method="put", body={"name": "x"}, body_format="json", headers={"X-Note": "n"})
    [seen] = provider.requests
    assert (seen.method, seen.body) == ("PUT", '{"name": "x"}')
    assert (seen.headers["Content-Type"], seen.headers["X-Note"], seen.headers["Authorization"]) == ("application/json", "n", "Bearer tok-1")


def test_a_redirect_is_returned_not_followed(provider):
    """Following it would carry the token to wherever Location points."""
    provider.answer("/old", status=302, headers={"Location": provider.base_url + "/new"})
    provider.answer("/new", body=b"{}")
    answer = send(provider, "/old")
    assert (answer["status"], answer["headers"]["location"]) == (302, provider.base_url + "/new")
    assert [seen.path for seen in provider.requests] == ["/old"]


def test_plain_http_to_loopback_never_goes_through_a_proxy(provider, monkeypatch):
    """The token would cross the proxy's network in cleartext; a dead proxy proves it was not asked."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    provider.answer("/api", body=b"{}")
    assert send(provider)["status"] == 200


def test_repeated_headers_are_all_kept(provider):
    """ansible.builtin.uri joins repeated headers with ', '; keeping only the last loses a DPoP challenge sent beside a Bearer one."""
    provider.answer("/api", status=401, headers={"WWW-Authenticate": ['DPoP error="use_dpop_nonce"', 'Bearer realm="api"'], "DPoP-Nonce": "n-1"})
    answer = send(provider)
    assert nonce_requested(401, answer["headers"]) == "n-1", answer["headers"]["www-authenticate"]


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_one_line_naming_the_url():
    url = "http://127.0.0.1:%d/api" % unused_port()
    with pytest.raises(OAuth2Error, match=r"^API %s is unreachable \(.*\): check the URL, proxies and firewalls\.$" % re.escape(url)):
        send_request(ApiArguments({"url": url, "api_timeout": 5}), CREDENTIALS, None)


def test_a_server_that_does_not_answer_in_time_is_one_line_naming_the_url(provider):
    provider.answer("/api", body=b"{}", delay=2)
    with pytest.raises(OAuth2Error, match=r"^API %s/api did not answer within 0\.3 seconds: check that it is reachable, or raise api_timeout\.$"
                                          % re.escape(provider.base_url)):
        send(provider, timeout=0.3)
