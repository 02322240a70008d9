# SPDX-License-Identifier: GPL-3.0-or-later
"""ClientOptions: validation and normalisation shared by every front end."""

from __future__ import annotations

import pytest

from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.errors import OAuth2Error

BASE = {"token_url": "https://idp.example.com/token", "client_id": "cid", "client_secret": "s3cret-value"}


def options(**overrides):
    return ClientOptions.from_mapping(dict(BASE, **overrides))


def test_defaults():
    result = options()
    assert (result.auth_method, result.validate_certs, result.timeout, result.scope) == ("client_secret_basic", True, 10.0, ())


def test_scope_list_and_space_separated_strings_merge_without_duplicates():
    assert options(scope=["read write", "admin", "read"]).scope == ("read", "write", "admin")
    assert options(scope="read  write").scope == ("read", "write")


def test_resource_string_or_list():
    assert options(resource="https://api.example.com/").resource == ("https://api.example.com/",)
    assert options(resource=["https://a/", "https://b/"]).resource == ("https://a/", "https://b/")


def test_extra_params_are_sorted_strings_and_lists_repeat():
    assert options(extra_params={"b": True, "a": [1, "x"]}).extra_params == (("a", "1"), ("a", "x"), ("b", "true"))


@pytest.mark.parametrize("key", ["grant_type", "client_secret", "scope", "client_assertion"])
def test_extra_params_cannot_override_what_the_client_owns(key):
    with pytest.raises(OAuth2Error, match="extra_params may not set '%s'" % key):
        options(extra_params={key: "x"})


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"token_url": None}, "Neither token_url nor issuer is set"),
        ({"client_id": None}, "client_id is not set"),
        ({"client_secret": "  "}, "client_secret is not set"),
        ({"auth_method": "magic"}, "auth_method 'magic' is not supported"),
        ({"auth_method": "private_key_jwt"}, "private_key is not set, and auth_method private_key_jwt needs it"),
        ({"auth_method": "tls_client_auth"}, "client_cert is not set, and auth_method tls_client_auth needs it"),
        ({"client_cert": "/etc/hostname"}, "client_cert and client_key go together"),
        ({"client_key_content": "key text"}, "client_cert and client_key go together"),
        ({"client_assertion_algorithm": "none"}, "client_assertion_algorithm 'none' is not supported"),
        ({"timeout": 0}, "timeout must be a number of seconds above 0 and at most 600, not 0"),
        ({"timeout": "soon"}, "timeout must be a number of seconds above 0 and at most 600, not 'soon'"),
        ({"refresh_margin": -1}, "refresh_margin must be a number of seconds from 0 to 31536000, not -1"),
        # nan compares false with everything: as a timeout a lock waiter would spin forever, as a margin expired tokens would be served.
        ({"timeout": "nan"}, "timeout must be a number of seconds above 0 and at most 600, not 'nan'"),
        ({"timeout": float("inf")}, "timeout must be a number of seconds above 0 and at most 600, not inf"),
        ({"refresh_margin": float("nan")}, "refresh_margin must be a number of seconds from 0 to 31536000, not nan"),
        ({"refresh_margin": "inf"}, "refresh_margin must be a number of seconds from 0 to 31536000, not 'inf'"),
        ({"max_retry_wait": float("nan")}, "max_retry_wait must be a number of seconds from 0 to 600, not nan"),
        ({"max_retry_wait": 601}, "max_retry_wait must be a number of seconds from 0 to 600, not 601"),
        ({"retries": 11}, "retries must be a whole number from 0 to 10, not 11"),
        ({"retries": 1.5}, "retries must be a whole number from 0 to 10, not 1.5"),
        ({"retries": -1}, "retries must be a whole number from 0 to 10, not -1"),
        ({"retries": True}, "retries must be a whole number from 0 to 10, not True"),
        ({"cache": "yes"}, "cache must be true or false"),
        ({"validate_certs": "maybe"}, "validate_certs must be true or false"),
        ({"ca_path": "/nonexistent/ca.pem"}, "ca_path /nonexistent/ca.pem does not exist"),
        ({"scope": {"read": 1}}, "scope must be a string or a list of strings"),
        ({"extra_params": ["a"]}, "extra_params must be a dictionary"),
        # sorted() would compare 1 with "b"; the one line names the field instead.
        ({"extra_params": {1: "x", "b": "y"}}, r"^extra_params has the field name 1, which is not a string: quote it \('1'\)\.$"),
        ({"client_id": 42}, "client_id must be a string"),
    ],
)
def test_bad_input_names_the_option(overrides, message):
    with pytest.raises(OAuth2Error, match=message):
        options(**overrides)


def test_issuer_alone_is_enough():
    assert options(token_url=None, issuer="https://idp.example.com").issuer == "https://idp.example.com"


def test_secret_is_not_in_repr():
    shown = repr(options())
    assert "s3cret-value" not in shown
    assert "client_secret=<hidden>" in shown and "private_key=None" in shown and "client_id=" in shown


KEY_TEXT = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"


def test_a_client_key_as_text_goes_with_client_cert_as_given_and_never_in_repr(tmp_path):
    (tmp_path / "client.pem").write_text("certificate")
    result = ClientOptions.from_mapping({"token_url": BASE["token_url"], "client_id": "cid", "client_cert": str(tmp_path / "client.pem"),
                                         "client_key_content": KEY_TEXT})
    assert (result.auth_method, result.client_key, result.client_key_content) == ("tls_client_auth", None, KEY_TEXT)
    assert "MIGHAgEA" not in repr(result)


def test_client_key_and_client_key_content_together_are_one_line_without_the_key():
    with pytest.raises(OAuth2Error, match=r"^client_key and client_key_content are both set: give the private key of client_cert once") as caught:
        options(client_cert="/etc/hostname", client_key="/etc/hostname", client_key_content=KEY_TEXT)
    assert "MIGHAgEA" not in str(caught.value)


# A JWT as far as these checks go; its claims are the client authentication's to read (test_client_auth.py).
ASSERTION = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyZXBvOmV4YW1wbGUvZGVwbG95In0.c2lnbmF0dXJl"


def assertion_options(**overrides):
    return ClientOptions.from_mapping(dict({"token_url": BASE["token_url"], "client_id": "cid"}, **overrides))


def test_an_assertion_or_its_file_means_client_assertion_and_needs_no_secret():
    given = assertion_options(client_assertion=ASSERTION)
    assert (given.auth_method, given.client_assertion, given.client_secret) == ("client_assertion", ASSERTION, None)
    assert given.client_assertion_type == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert ASSERTION not in repr(given) and "client_assertion=<hidden>" in repr(given) and given.secret_values() == (ASSERTION,)
    from_file = assertion_options(client_assertion_file="/var/run/secrets/tokens/oauth2", auth_method="client_assertion")
    assert (from_file.auth_method, from_file.client_assertion_file) == ("client_assertion", "/var/run/secrets/tokens/oauth2")


def test_the_file_is_not_read_when_the_options_are_checked():
    """It is read at each request, where that is made: the controller checks a module's options without it."""
    assert assertion_options(client_assertion_file="/nonexistent/id-token").client_assertion_file == "/nonexistent/id-token"


@pytest.mark.parametrize("overrides, message", [
    ({"client_secret": "s3cret-value"}, r"^client_assertion and client_secret are both set: a client assertion authenticates the client "
                                        r"instead of a secret, key or certificate; remove one of them\.$"),
    ({"private_key": KEY_TEXT}, r"^client_assertion and private_key are both set"),
    ({"private_key_path": "/etc/hostname"}, r"^client_assertion and private_key_path are both set"),
    ({"client_cert": "/etc/hostname", "client_key": "/etc/hostname"}, r"^client_assertion and client_cert are both set"),
    ({"auth_method": "private_key_jwt"}, r"^client_assertion is set, and auth_method is private_key_jwt: an assertion given is sent only "
                                         r"with auth_method client_assertion; remove auth_method \(or set it to client_assertion\), or "
                                         r"remove client_assertion\.$"),
    ({"client_assertion_file": "/var/run/id-token"}, r"^client_assertion and client_assertion_file are both set: give the identity token "
                                                     r"once, as its text or as its file\.$"),
])
def test_an_assertion_with_another_credential_or_method_is_one_line_naming_both(overrides, message):
    with pytest.raises(OAuth2Error, match=message) as caught:
        assertion_options(client_assertion=ASSERTION, **overrides)
    assert ASSERTION not in str(caught.value) and "s3cret-value" not in str(caught.value) and "MIGHAgEA" not in str(caught.value)


def test_the_file_with_a_secret_names_the_file():
    with pytest.raises(OAuth2Error, match=r"^client_assertion_file and client_secret are both set"):
        assertion_options(client_assertion_file="/var/run/id-token", client_secret="s3cret-value")


def test_a_relative_assertion_file_is_refused():
    with pytest.raises(OAuth2Error, match=r"^client_assertion_file id-token is not an absolute path: it is read where the token is requested, "
                                          r"at each request, and never searched like files/; give its absolute path\.$"):
        assertion_options(client_assertion_file="id-token")
    assert assertion_options(client_assertion_file="~/id-token").client_assertion_file.endswith("/id-token")


def test_auth_method_client_assertion_without_an_assertion_says_where_to_give_one():
    with pytest.raises(OAuth2Error, match=r"^client_assertion is not set, and auth_method client_assertion needs it: give the identity token "
                                          r"as client_assertion, or its file as client_assertion_file \(the client_assertion argument, the "
                                          r"oauth2_client_assertion variable or the ANSIBLE_OAUTH2_CLIENT_ASSERTION environment variable\)\.$"):
        assertion_options(auth_method="client_assertion")
