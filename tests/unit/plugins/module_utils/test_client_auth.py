"""Client authentication: RFC 6749 section 2.3.1 encoding, and which strings count as secret."""

from __future__ import annotations

import base64
from urllib.parse import unquote_plus

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_auth import client_auth_for

SPECIAL_ID = "svc:ops+deploy %20=x"
SPECIAL_SECRET = "p@ss:w+rd %41=/&z"


def test_basic_header_form_encodes_id_and_secret_before_base64():
    headers = {}
    client_auth_for("client_secret_basic", SPECIAL_ID, SPECIAL_SECRET).authenticate([], headers)
    scheme, encoded = headers["Authorization"].split(" ")
    pair = base64.b64decode(encoded).decode()
    assert scheme == "Basic"
    assert pair == "svc%3Aops%2Bdeploy+%2520%3Dx:p%40ss%3Aw%2Brd+%2541%3D%2F%26z"
    user, password = pair.split(":")
    assert (unquote_plus(user), unquote_plus(password)) == (SPECIAL_ID, SPECIAL_SECRET)


def test_basic_header_of_plain_credentials_matches_the_usual_form():
    headers = {}
    client_auth_for("client_secret_basic", "abc", "def").authenticate([], headers)
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"abc:def").decode()


def test_post_puts_credentials_in_the_form_and_no_header():
    form, headers = [("grant_type", "client_credentials")], {}
    client_auth_for("client_secret_post", SPECIAL_ID, SPECIAL_SECRET).authenticate(form, headers)
    assert headers == {}
    assert form[1:] == [("client_id", SPECIAL_ID), ("client_secret", SPECIAL_SECRET)]


def test_sensitive_values_cover_raw_encoded_and_header_forms():
    headers = {}
    auth = client_auth_for("client_secret_basic", SPECIAL_ID, SPECIAL_SECRET)
    auth.authenticate([], headers)
    values = auth.sensitive_values()
    assert SPECIAL_SECRET in values
    assert "p%40ss%3Aw%2Brd+%2541%3D%2F%26z" in values
    assert headers["Authorization"].split(" ")[1] in values
