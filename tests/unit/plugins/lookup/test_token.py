# SPDX-License-Identifier: GPL-3.0-or-later
"""The lookup through Ansible's own plugin loader: where options come from, which wins, and output forms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.oauth2.client_credentials.plugins.lookup import token as token_lookup
from ansible_compat import trust_as_template

SECRET = "lookup-Secret:+%= value"
VAULT_PASSWORD = b"unit-vault-password"


@pytest.fixture
def token_endpoint(provider):
    provider.answer("/token", json_body={"access_token": "tok-123", "expires_in": 600, "token_type": "Bearer", "scope": "read"})
    return provider


def collections_root() -> Path:
    """Where this collection is found as ansible_collections.oauth2.client_credentials, for a process of its own."""
    return next(path.parent for path in Path(token_lookup.__file__).parents if path.name == "ansible_collections")


def run_lookup(variables=None, vault_password=None, **kwargs):
    loader = DataLoader()
    if vault_password:
        loader.set_vault_secrets([("default", VaultSecret(vault_password))])
    templar = Templar(loader=loader, variables=variables or {})
    lookup = lookup_loader.get("oauth2.client_credentials.token", loader=loader, templar=templar)
    return lookup.run([], variables=variables or {}, **kwargs)[0]


def sent(provider, field):
    return [value for name, value in provider.requests[-1].form if name == field]


def test_output_forms(token_endpoint):
    base = {"token_url": token_endpoint.base_url + "/token", "client_id": "cid", "client_secret": SECRET}
    assert run_lookup(**base) == "tok-123"
    assert run_lookup(output="header", **base) == "Bearer tok-123"
    full = run_lookup(output="full", **base)
    assert (full["access_token"], full["authorization"], full["scope"], full["claims"]) == ("tok-123", "Bearer tok-123", "read", {})


def test_environment_configures_everything(token_endpoint, monkeypatch):
    monkeypatch.setenv("ANSIBLE_OAUTH2_TOKEN_URL", token_endpoint.base_url + "/token")
    monkeypatch.setenv("ANSIBLE_OAUTH2_CLIENT_ID", "env-id")
    monkeypatch.setenv("ANSIBLE_OAUTH2_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("ANSIBLE_OAUTH2_AUTH_METHOD", "client_secret_post")
    monkeypatch.setenv("ANSIBLE_OAUTH2_SCOPE", "read,write")
    assert run_lookup() == "tok-123"
    assert (sent(token_endpoint, "client_id"), sent(token_endpoint, "scope")) == (["env-id"], ["read write"])


def test_variables_beat_environment_and_keywords_beat_variables(token_endpoint, monkeypatch):
    monkeypatch.setenv("ANSIBLE_OAUTH2_CLIENT_ID", "env-id")
    variables = {
        "oauth2_token_url": token_endpoint.base_url + "/token", "oauth2_client_id": "var-id",
        "oauth2_client_secret": SECRET, "oauth2_auth_method": "client_secret_post",
    }
    run_lookup(variables)
    assert sent(token_endpoint, "client_id") == ["var-id"]
    run_lookup(variables, client_id="kw-id")
    assert sent(token_endpoint, "client_id") == ["kw-id"]


def test_variables_holding_templates_are_resolved(token_endpoint):
    variables = {
        "vault_client_secret": SECRET,
        # Playbook and inventory variables are trusted templates; a bare str in a test is not.
        "oauth2_client_secret": trust_as_template("{{ vault_client_secret }}"),
        "oauth2_token_url": token_endpoint.base_url + "/token",
    }
    run_lookup(variables, client_id="cid", auth_method="client_secret_post")
    assert sent(token_endpoint, "client_secret") == [SECRET]


def write_credentials(path, content, vault_password=None):
    text = json.dumps(content)
    if vault_password:
        text = VaultLib([("default", VaultSecret(vault_password))]).encrypt(text).decode()
    path.write_text(text)
    return str(path)


def test_vault_encrypted_credentials_file(token_endpoint, tmp_path):
    path = write_credentials(tmp_path / "creds.yml", {"client_id": "file-id", "client_secret": SECRET,
                                                      "auth_method": "client_secret_post"}, VAULT_PASSWORD)
    assert SECRET not in (tmp_path / "creds.yml").read_text()
    run_lookup(vault_password=VAULT_PASSWORD, credentials_file=path, token_url=token_endpoint.base_url + "/token")
    assert (sent(token_endpoint, "client_id"), sent(token_endpoint, "client_secret")) == (["file-id"], [SECRET])


def test_values_given_directly_win_over_the_file(token_endpoint, tmp_path):
    path = write_credentials(tmp_path / "creds.json", {"client_id": "file-id", "client_secret": SECRET,
                                                       "token_url": "https://unused.example.com/token", "scope": "file-scope"})
    run_lookup(credentials_file=path, token_url=token_endpoint.base_url + "/token", client_id="kw-id", auth_method="client_secret_post")
    assert (sent(token_endpoint, "client_id"), sent(token_endpoint, "scope")) == (["kw-id"], ["file-scope"])


def test_missing_vault_password_is_one_clear_error(tmp_path):
    path = write_credentials(tmp_path / "creds.yml", {"client_id": "x", "client_secret": SECRET}, VAULT_PASSWORD)
    with pytest.raises(AnsibleError, match=r"is vault-encrypted but no vault password was given: run with --vault-password-file"):
        run_lookup(credentials_file=path, token_url="https://idp.example.com/token")


def test_wrong_vault_password(tmp_path):
    path = write_credentials(tmp_path / "creds.yml", {"client_id": "x", "client_secret": SECRET}, VAULT_PASSWORD)
    with pytest.raises(AnsibleError, match=r"is vault-encrypted, and none of the vault passwords given opens it: check that --vault-password-file"):
        run_lookup(vault_password=b"wrong", credentials_file=path, token_url="https://idp.example.com/token")


@pytest.mark.parametrize(
    "content, message",
    [
        ('["a"]', r"must hold a mapping with client_id and client_secret"),
        ('{"client_id": "x", "password": "y"}',
         r"has unknown keys password: allowed are audience, auth_method, ca_path, cache, cache_backend, cache_dir, cache_key, "
         r"cache_password, cache_url, client_assertion, client_assertion_algorithm, "),
        ("a: [unclosed", r"could not be read as YAML or JSON"),
    ],
)
def test_bad_credentials_files(tmp_path, content, message):
    path = tmp_path / "creds.yml"
    path.write_text(content)
    with pytest.raises(AnsibleError, match=message):
        run_lookup(credentials_file=str(path), token_url="https://idp.example.com/token")


@pytest.mark.parametrize("content, message", [
    ("private_key_path: 5", r"^private_key_path 5 was not found \(relative paths are searched like files/ of the play or role\)\.$"),
    ("private_key_path: [a]", r"^Option private_key_path has a value that is not of type str: check private_key_path in credentials_file /.*/creds\.yml\.$"),
    ("output: bogus", r"^Option output has a value that is not one of access_token, header, full: check output in credentials_file /.*/creds\.yml\.$"),
    ("timeout: soon", r"^Option timeout has a value that is not of type float: check timeout in credentials_file /.*/creds\.yml\.$"),
    ("ca_path: {nested: %s}" % json.dumps(SECRET), r"^Option ca_path has a value that is not of type str: check ca_path in credentials_file"),
    ("extra_params: {1: one, two: 2}", r"^extra_params has the field name 1, which is not a string: quote it \('1'\)\.$"),
    # The config manager would read a word it does not know as false: a typo must not turn verification off.
    ("validate_certs: nope", r"^Option validate_certs has a value that is not of type bool: check validate_certs in credentials_file"),
])
def test_credentials_file_values_are_checked_before_any_request(token_endpoint, tmp_path, content, message):
    """As strictly as values from any other source; the lookup's output too, which is used only once the token is there."""
    path = tmp_path / "creds.yml"
    path.write_text("client_id: file-id\nclient_secret: %s\n%s\n" % (json.dumps(SECRET), content))
    with pytest.raises(AnsibleError, match=message) as caught:
        run_lookup(credentials_file=str(path), token_url=token_endpoint.base_url + "/token")
    assert token_endpoint.requests == [] and SECRET not in str(caught.value) and "\n" not in str(caught.value)


def test_credentials_file_values_are_converted_like_other_sources(token_endpoint, tmp_path):
    path = tmp_path / "creds.yml"
    path.write_text("client_id: file-id\nclient_secret: %s\ntimeout: '5'\noutput: full\nscope: read write\n" % json.dumps(SECRET))
    assert run_lookup(credentials_file=str(path), token_url=token_endpoint.base_url + "/token")["access_token"] == "tok-123"
    assert sent(token_endpoint, "scope") == ["read write"]


def test_missing_credentials_file():
    with pytest.raises(AnsibleError, match=r"credentials_file /nonexistent/creds.yml was not found"):
        run_lookup(credentials_file="/nonexistent/creds.yml", token_url="https://idp.example.com/token")


def test_misspelt_keyword_is_refused():
    with pytest.raises(AnsibleError, match=r"Unknown option clientid for the oauth2.client_credentials.token lookup "
                                           r"\(did you mean client_id\?\): the options are audience, "):
        run_lookup(clientid="x", token_url="https://idp.example.com/token")


def test_positional_terms_are_refused():
    lookup = lookup_loader.get("oauth2.client_credentials.token", loader=DataLoader(), templar=None)
    with pytest.raises(AnsibleError, match="takes no positional terms"):
        lookup.run(["oops"], variables={})


def test_refusal_reaches_the_user_without_the_secret(provider):
    provider.answer("/token", status=401, json_body={"error": "invalid_client", "error_description": "client authentication failed " + SECRET})
    with pytest.raises(AnsibleError, match=r"HTTP 401 invalid_client") as caught:
        run_lookup(token_url=provider.base_url + "/token", client_id="cid", client_secret=SECRET)
    assert SECRET not in str(caught.value)


def test_other_oauth2_variables_are_never_templated(token_endpoint):
    variables = {
        "oauth2_token_url": token_endpoint.base_url + "/token", "oauth2_client_id": "cid", "oauth2_client_secret": SECRET,
        # Would fail if templated: undefined, and a lookup of this very plugin.
        "oauth2_report_to": trust_as_template("{{ undefined_report_email }}"),
        "oauth2_header": trust_as_template("{{ lookup('oauth2.client_credentials.token', output='header') }}"),
    }
    assert run_lookup(variables) == "tok-123"


def test_a_variable_of_an_option_given_directly_is_not_templated(token_endpoint):
    variables = {"oauth2_client_secret": trust_as_template("{{ undefined_secret }}")}
    assert run_lookup(variables, token_url=token_endpoint.base_url + "/token", client_id="cid", client_secret=SECRET) == "tok-123"


@pytest.mark.parametrize("name", ["validate_certs", "validate_token", "cache"])
def test_a_word_that_is_not_a_boolean_is_refused_not_read_as_false(token_endpoint, name):
    with pytest.raises(AnsibleError, match=r"^Option %s has a value that is not of type bool: check the %s argument" % (name, name)):
        run_lookup(token_url=token_endpoint.base_url + "/token", client_id="cid", client_secret=SECRET, **{name: "tru"})
    assert token_endpoint.requests == []
    assert run_lookup(token_url=token_endpoint.base_url + "/token", client_id="cid", client_secret=SECRET, cache="no") == "tok-123"


@pytest.mark.parametrize("source", ["variable", "environment"])
def test_a_word_that_is_not_a_boolean_is_refused_from_variables_and_the_environment(token_endpoint, monkeypatch, source):
    variables = {"oauth2_validate_certs": "tru"} if source == "variable" else None
    if source == "environment":
        monkeypatch.setenv("ANSIBLE_OAUTH2_VALIDATE_CERTS", "tru")
    with pytest.raises(AnsibleError, match=r"^Option validate_certs has a value that is not of type bool"):
        run_lookup(variables, token_url=token_endpoint.base_url + "/token", client_id="cid", client_secret=SECRET)
    assert token_endpoint.requests == []


def test_a_word_that_is_not_a_boolean_is_refused_from_ansible_cfg(token_endpoint, tmp_path):
    config = tmp_path / "ansible.cfg"
    config.write_text("[oauth2_client_credentials]\nvalidate_certs = tru ; a typo\n")
    script = (
        "from ansible.plugins.loader import init_plugin_loader, lookup_loader\n"
        "init_plugin_loader([%r])\n"
        "from ansible.parsing.dataloader import DataLoader\n"
        "from ansible.template import Templar\n"
        "loader = DataLoader()\n"
        "lookup = lookup_loader.get('oauth2.client_credentials.token', loader=loader, templar=Templar(loader=loader))\n"
        "try:\n"
        "    lookup.run([], variables={}, token_url=%r, client_id='cid', client_secret=%r)\n"
        "except Exception as exc:\n"
        "    print(exc)\n"
    ) % (str(collections_root()), token_endpoint.base_url + "/token", SECRET)
    environment = dict(os.environ, ANSIBLE_CONFIG=str(config))
    shown = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True).stdout
    assert shown.startswith("Option validate_certs has a value that is not of type bool"), shown
    assert token_endpoint.requests == []
    config.write_text("[oauth2_client_credentials]\nvalidate_certs = false ; loopback test endpoint\n")
    shown = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True).stdout
    assert shown == "" and len(token_endpoint.requests) == 1


@pytest.mark.parametrize("value", [{"nested": SECRET}, [SECRET, "x"]])
def test_a_secret_of_the_wrong_type_is_refused_without_its_value(value):
    with pytest.raises(AnsibleError, match=r"Option client_secret has a value that is not of type str") as caught:
        run_lookup({"oauth2_client_secret": value}, token_url="https://idp.example.com/token", client_id="cid")
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.__cause__)


def test_refusal_says_where_id_and_secret_came_from(provider, tmp_path, monkeypatch):
    provider.answer("/token", status=401, json_body={"error": "invalid_client"})
    monkeypatch.setenv("ANSIBLE_OAUTH2_CLIENT_ID", "env-id")
    path = write_credentials(tmp_path / "creds.yml", {"client_id": "file-id", "client_secret": SECRET})
    with pytest.raises(AnsibleError) as caught:
        run_lookup(credentials_file=path, token_url=provider.base_url + "/token")
    assert str(caught.value).endswith(
        "(client_id came from environment variable ANSIBLE_OAUTH2_CLIENT_ID, client_secret from credentials_file %s.)" % path)
    assert "env-id" not in str(caught.value) and SECRET not in str(caught.value)


def test_a_refused_assertion_says_where_it_came_from_and_what_it_names(provider, tmp_path, monkeypatch):
    """The file an environment variable names, and the workload its token speaks for; never the token."""
    import time

    import jwt

    provider.answer("/token", status=401, json_body={"error": "invalid_client"})
    token = jwt.encode({"iss": "https://ci.example", "sub": "project_path:ops/deploy:ref_type:branch:ref:main", "aud": "https://idp.example",
                        "exp": int(time.time()) + 300}, "the CI's key, a stand-in of 32 bytes", algorithm="HS256")
    (tmp_path / "id-token").write_text(token)
    monkeypatch.setenv("ANSIBLE_OAUTH2_CLIENT_ASSERTION_FILE", str(tmp_path / "id-token"))
    with pytest.raises(AnsibleError) as caught:
        run_lookup(token_url=provider.base_url + "/token", client_id="cid")
    message = str(caught.value)
    assert "issuer https://ci.example with subject project_path:ops/deploy:ref_type:branch:ref:main and audience https://idp.example" in message
    assert message.endswith("(client_id came from the task's arguments, client_assertion_file from environment variable "
                            "ANSIBLE_OAUTH2_CLIENT_ASSERTION_FILE.)")
    assert token not in message and dict(provider.requests[-1].form)["client_assertion"] == token


def test_other_refusals_do_not_list_origins(provider):
    provider.answer("/token", status=400, json_body={"error": "invalid_scope"})
    with pytest.raises(AnsibleError) as caught:
        run_lookup(token_url=provider.base_url + "/token", client_id="cid", client_secret=SECRET)
    assert "came from" not in str(caught.value)


def test_relative_ca_path_is_searched_like_files(token_endpoint, tmp_path, monkeypatch):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nnot really a CA, but it reads like one\n")
    monkeypatch.chdir(tmp_path / "files")  # the search, not the current directory, must find it
    loader = DataLoader()
    loader.set_basedir(str(tmp_path))
    lookup = lookup_loader.get("oauth2.client_credentials.token", loader=loader, templar=Templar(loader=loader))
    with pytest.raises(AnsibleError, match=r"ca_path missing.pem was not found \(relative paths are searched like files/"):
        lookup.run([], variables={}, token_url="https://idp.example.com/token", client_id="c", client_secret=SECRET, ca_path="missing.pem")
    monkeypatch.chdir("/")
    with pytest.raises(AnsibleError, match=r"Token endpoint https://127.0.0.1:1/token is unreachable: connection refused"):
        lookup.run([], variables={}, token_url="https://127.0.0.1:1/token", client_id="c", client_secret=SECRET, ca_path="ca.pem", retries=0)
