# SPDX-License-Identifier: GPL-3.0-or-later
"""The token module run in-process against a fake provider: argument spec, check mode, result shape, errors."""

from __future__ import annotations

import json
import secrets
import tempfile

import pytest
from ansible.module_utils.common.parameters import PASS_VARS

from ansible_compat import patch_module_args
from ansible_collections.oauth2.client_credentials.plugins.modules import token as token_module

try:
    from ansible.module_utils.secrets import mask_secrets
except ImportError:  # ansible-core < 2.22 writes a placeholder into the result for each no_log value instead
    mask_secrets = None

SECRET = "module-Secret-Value-42"
# The module's arguments, as Ansible shows them at -vvv; before ansible-core 2.19 they are always in the result.
INJECT_INVOCATION = {"_ansible_inject_invocation": True} if "inject_invocation" in PASS_VARS else {}


def run_module_reporting_secrets(capsys, **args):
    """Also the no_log values the module reports as new secrets: from ansible-core 2.22 the controller takes them out of
    the result before anything else sees it, and masks them in everything it shows."""
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        token_module.main()
    result = json.loads(capsys.readouterr().out)
    return exited.value.code, result, result.pop("_ansible_new_secrets", [])


def run_module(capsys, **args):
    return run_module_reporting_secrets(capsys, **args)[:2]


@pytest.fixture
def endpoint(provider):
    provider.answer("/token", json_body={"access_token": "tok-abc", "expires_in": 600, "token_type": "Bearer", "scope": "read"})
    return provider.base_url + "/token"


def test_fact_and_registered_result_are_the_token_result(capsys, endpoint):
    code, result = run_module(capsys, token_url=endpoint, client_id="cid", client_secret=SECRET)
    assert code == 0 and result["changed"] is False
    assert result["ansible_facts"] == {"oauth2_token": result["token"]}
    assert set(result["token"]) == {
        "access_token", "token_type", "expires_in", "expires_at", "scope", "authorization", "claims", "claims_verified"}
    assert result["token"]["authorization"] == "Bearer tok-abc"
    assert SECRET not in json.dumps(result)


def test_custom_and_empty_fact_name(capsys, endpoint):
    named = run_module(capsys, token_url=endpoint, client_id="cid", client_secret=SECRET, fact_name="api")[1]
    unnamed = run_module(capsys, token_url=endpoint, client_id="cid", client_secret=SECRET, fact_name="")[1]
    assert list(named["ansible_facts"]) == ["api"]
    assert unnamed["ansible_facts"] == {} and unnamed["token"]["access_token"] == "tok-abc"


def test_check_mode_still_obtains_the_token(capsys, endpoint, provider):
    code, result = run_module(capsys, token_url=endpoint, client_id="cid", client_secret=SECRET, _ansible_check_mode=True)
    assert code == 0 and result["token"]["access_token"] == "tok-abc" and result["changed"] is False
    assert len(provider.requests) == 1


def test_refusal_is_fail_json_with_the_oauth_error(capsys, provider):
    provider.answer("/token", status=401, json_body={"error": "invalid_client", "error_description": "client authentication failed"})
    code, result = run_module(capsys, token_url=provider.base_url + "/token", client_id="cid", client_secret=SECRET)
    assert code == 1 and result["failed"] is True
    assert "HTTP 401 invalid_client (client authentication failed)" in result["msg"]
    assert SECRET not in json.dumps(result)


def test_bad_option_is_fail_json(capsys):
    code, result = run_module(capsys, client_id="cid", client_secret=SECRET)
    assert code == 1 and result["msg"].startswith("Neither token_url nor issuer is set")


def test_argument_spec_rejects_unknown_choices(capsys):
    code, result = run_module(capsys, token_url="https://idp/token", client_id="c", client_secret=SECRET, auth_method="nope")
    assert code == 1 and "auth_method" in result["msg"]


def test_client_secret_is_no_log(capsys, endpoint):
    result = run_module(capsys, token_url=endpoint, client_id="cid", client_secret=SECRET, _ansible_verbosity=4)[1]
    assert SECRET not in json.dumps(result)


def test_client_key_content_is_no_log_and_its_file_is_gone_after_the_request(capsys, endpoint, tmp_path, monkeypatch):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    (tmp_path / "client.pem").write_text("certificate")
    # Used by no other test, so that no earlier one has made it a known secret in this process (ansible-core 2.22+).
    key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgModuleTest\n-----END PRIVATE KEY-----\n"
    code, result, new_secrets = run_module_reporting_secrets(
        capsys, token_url=endpoint, client_id="cid", client_cert=str(tmp_path / "client.pem"), client_key_content=key,
        _ansible_verbosity=4, **INJECT_INVOCATION)
    assert code == 0 and result["token"]["access_token"] == "tok-abc"
    shown = result["invocation"]["module_args"]["client_key_content"]
    if mask_secrets is None:
        assert shown == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" and new_secrets == []
    else:
        # The value itself, reported to the controller as a secret, which it then masks wherever the result is shown.
        assert shown == key and key.strip() in new_secrets
        assert "MIGHAgEA" not in mask_secrets(json.dumps(result))
    del result["invocation"]
    assert "MIGHAgEA" not in json.dumps(result) and list(temporary.iterdir()) == []


def test_credentials_file_reaching_the_module_is_refused(capsys):
    code, result = run_module(capsys, token_url="https://idp/token", client_id="c", client_secret=SECRET, credentials_file="c.yml")
    assert code == 1 and "read by the action plugin on the controller" in result["msg"]


@pytest.mark.parametrize("fact_name", ["my-token", "1tok", "class", "a b"])
def test_fact_name_must_be_a_variable_name(capsys, endpoint, provider, fact_name):
    code, result = run_module(capsys, token_url=endpoint, client_id="cid", client_secret=SECRET, fact_name=fact_name)
    assert code == 1 and result["msg"].startswith("fact_name %r is not a valid variable name" % fact_name)
    assert provider.requests == []


def test_refusal_carries_the_oauth_error_code(capsys, provider):
    provider.answer("/token", status=400, json_body={"error": "unauthorized_client"})
    result = run_module(capsys, token_url=provider.base_url + "/token", client_id="cid", client_secret=SECRET)[1]
    assert result["oauth2_error"] == "unauthorized_client"


def encrypted_key(passphrase):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(passphrase.encode())).decode()


@pytest.mark.parametrize("name, value, meaning", [
    ("client_secret", "opaque", "secret"),
    # Four characters that occur in the token's claims: before 2.22 its aud would come back as https://api.********/.
    ("private_key_passphrase", "test", "passphrase"),
    # Values that do not occur in the message, which the module's own scrubbing would blank too (the action plugin says it first).
    ("client_key_content", "k-pem", "key"),
    ("private_key", "pem", "key"),
])
def test_a_short_no_log_value_is_refused_before_its_scrubbing_could_garble_the_result(capsys, provider, tmp_path, name, value, meaning):
    claims = "eyJhdWQiOiJodHRwczovL2FwaS50ZXN0LyJ9"  # {"aud":"https://api.test/"}
    provider.answer("/token", json_body={"access_token": "eyJhbGciOiJFUzI1NiJ9.%s.c2ln" % claims, "expires_in": 600})
    credentials = {"client_secret": "long-enough-secret"}
    if name == "private_key_passphrase":
        credentials = {"private_key": encrypted_key(value)}
    elif name == "client_key_content":
        (tmp_path / "client.pem").write_text("certificate")
        credentials = {"client_cert": str(tmp_path / "client.pem"), "auth_method": "tls_client_auth"}
    credentials[name] = value
    code, result = run_module(capsys, token_url=provider.base_url + "/token", client_id="cid", **credentials)
    assert code == 1 and result["msg"] == (
        "%s is shorter than 8 characters: Ansible would blank out every occurrence of it in the module's result, the token included. "
        "Use the lookup, or a %s of at least 8 characters." % (name, meaning))
    assert provider.requests == []


def test_the_token_and_the_secret_travel_back_to_the_controller_for_masking(capsys, provider):
    """ansible-core 2.22 masks what a module registered after AnsibleModule() was created; older lines have nothing to tell."""
    token = "tok-" + secrets.token_hex(8)
    provider.answer("/token", json_body={"access_token": token, "expires_in": 600, "token_type": "Bearer"})
    secret = "module-secret-" + secrets.token_hex(8)
    reported = run_module_reporting_secrets(capsys, token_url=provider.base_url + "/token", client_id="cid", client_secret=secret)[2]
    if mask_secrets is not None:
        assert {token, "Bearer " + token, secret} <= set(reported)
        assert "cid" not in reported
    else:
        assert reported == []
