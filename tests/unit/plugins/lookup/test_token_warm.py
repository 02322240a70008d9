# SPDX-License-Identifier: GPL-3.0-or-later
"""A lookup answered from the cache: what it loads, and when the memo of options checked before may stand in for the
checks. Whatever a memo holds, a lookup must answer as the full path would have."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import jwt
import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

from ansible_collections.oauth2.client_credentials.plugins.lookup import token as token_lookup
from ansible_collections.oauth2.client_credentials.plugins.module_utils.client_options import ClientOptions
from ansible_collections.oauth2.client_credentials.plugins.module_utils.token_client import TokenClient
from ansible_compat import trust_as_template
from redis_server import RedisServer

SECRET = "warm-Secret-value-0123456789"
PACKAGE = "ansible_collections.oauth2.client_credentials.plugins."


class Shown:
    """What the lookup displays, as Ansible's Display would show it at -vvv."""

    verbosity = 3

    def __init__(self) -> None:
        self.warnings: List[str] = []
        self.debug: List[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def vvv(self, message: str) -> None:
        self.debug.append(message)


def lookup(shown=None, **options):
    loader = DataLoader()
    plugin = lookup_loader.get("oauth2.client_credentials.token", loader=loader, templar=Templar(loader=loader))
    if shown is not None:
        plugin._display = shown  # pylint: disable=protected-access
    return plugin.run([], variables={}, **options)[0]


@pytest.fixture
def issuing(provider):
    """A token endpoint that issues tok-1, tok-2, ... and counts its requests."""
    issued = []

    def answer():
        issued.append("tok-%d" % (len(issued) + 1))
        provider.answer("/token", json_body={"access_token": issued[-1], "expires_in": 600, "token_type": "Bearer"})

    answer()
    provider.next_token = answer
    provider.base = {"token_url": provider.base_url + "/token", "client_id": "cid", "client_secret": SECRET}
    return provider


def token_requests(provider) -> int:
    return sum(1 for seen in provider.requests if seen.path == "/token")


def cache_files(home: Path) -> List[str]:
    directory = home / ".ansible" / "oauth2_client_credentials" / "cache"
    return sorted(name for name in os.listdir(directory) if "." not in name)


def in_a_process(**options):
    """The lookup in a process of its own, as a forked worker runs it: its token, the collection modules it loaded, and
    what it displayed."""
    script = (
        "import sys\n"
        "from ansible.plugins.loader import init_plugin_loader, lookup_loader\n"
        "init_plugin_loader([%r])\n"
        "from ansible.parsing.dataloader import DataLoader\n"
        "from ansible.template import Templar\n"
        "loader = DataLoader()\n"
        "plugin = lookup_loader.get('oauth2.client_credentials.token', loader=loader, templar=Templar(loader=loader))\n"
        "print(plugin.run([], variables={}, **%r)[0])\n"
        "print(' '.join(sorted(name[%d:] for name in sys.modules if name.startswith(%r) and '.' in name[%d:])))\n"
    ) % (str(Path(token_lookup.__file__).parents[4]), options, len(PACKAGE), PACKAGE, len(PACKAGE))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    token, modules = done.stdout.split("\n")[:2]
    return token, modules.split(), done.stderr


def test_a_warm_lookup_loads_only_what_reading_the_cache_needs(issuing):
    """The request path, the option checks and the cache's writing stay unloaded."""
    cold, warm = in_a_process(**issuing.base), in_a_process(**issuing.base)
    assert cold[0] == warm[0] == "tok-1" and token_requests(issuing) == 1
    assert "module_utils.token_client" in cold[1]
    assert warm[1] == ["doc_fragments.token_options", "lookup.token", "module_utils.cache_read", "module_utils.secret_masking",
                       "plugin_utils.option_inputs"]


def test_with_a_shared_cache_the_memo_serves_only_while_its_server_is_down(issuing, tmp_path):
    """The token is on the Redis server while it works, and every lookup asks it; while the note says it is down, the
    file cache serves, and the memo there answers as it does for the file cache, warning as the full path does."""
    with RedisServer(tmp_path / "redis") as server:
        options = dict(issuing.base, cache_backend="redis", cache_url=server.url, cache_password=server.password)
        healthy = [in_a_process(**options) for _run in range(2)]
        assert [run[0] for run in healthy] == ["tok-1", "tok-1"] and "module_utils.redis_cache" in healthy[1][1]
        issuing.next_token()
        server.stop()
        down = [in_a_process(**options) for _run in range(2)]
        # Once the note is older than the pause it asks for, the next lookup tries the server again.
        note = Path.home() / ".ansible" / "oauth2_client_credentials" / "cache.redis-down"
        note.write_text("%.3f\n" % (time.time() - 60) + note.read_text().split("\n", 1)[1])
        later = in_a_process(**options)
    assert [run[0] for run in down] == ["tok-2", "tok-2"] and later[0] == "tok-2" and token_requests(issuing) == 2
    assert "module_utils.redis_cache" in down[0][1] and "module_utils.redis_cache" not in down[1][1]
    assert "module_utils.redis_cache" in later[1]
    warning = "Shared token cache not used: the Redis server at %s cannot be reached; the local token cache is used instead." % server.url
    assert all(warning in " ".join(run[2].split()) for run in down + [later])


def test_the_memo_answers_only_the_very_same_values(issuing, isolated_home):
    """Values that differ in their form only share the token, each after a check of its own."""
    assert lookup(scope="read write", **issuing.base) == "tok-1"
    assert lookup(scope=["read", "write"], **issuing.base) == "tok-1"
    assert lookup(scope=["read", "write"], **issuing.base) == "tok-1"
    assert token_requests(issuing) == 1
    # One token entry, and a memo for each form of the values.
    assert len(cache_files(isolated_home)) == 3


def test_a_value_the_checks_refuse_is_refused_after_a_memo_of_one_that_looks_alike(issuing):
    """JSON would write {1: ...} as {"1": ...}: the memo of the one must not stand in for the check of the other."""
    assert lookup(extra_params={"1": "one"}, **issuing.base) == "tok-1"
    with pytest.raises(AnsibleError, match=r"extra_params has the field name 1, which is not a string"):
        lookup(extra_params={1: "one"}, **issuing.base)


def test_a_file_that_changed_is_checked_again(issuing, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\nnot really a CA, but it reads like one\n")
    assert lookup(ca_path=str(ca_file), **issuing.base) == "tok-1"
    ca_file.write_text("a DER file, say\n")
    with pytest.raises(AnsibleError, match=r"ca_path .* holds no PEM certificate"):
        lookup(ca_path=str(ca_file), **issuing.base)
    ca_file.unlink()
    with pytest.raises(AnsibleError, match=r"ca_path .* does not exist"):
        lookup(ca_path=str(ca_file), **issuing.base)


def test_an_assertion_of_another_workload_gets_its_own_token(issuing, tmp_path):
    path = tmp_path / "id-token"

    def write_assertion(subject: str) -> None:
        claims = {"iss": "https://ci.example", "sub": subject, "aud": "https://idp.example", "exp": int(time.time()) + 300}
        path.write_text(jwt.encode(claims, "the CI's key, a stand-in of 32 bytes", algorithm="HS256"))

    options = {"token_url": issuing.base["token_url"], "client_id": "cid", "client_assertion_file": str(path)}
    write_assertion("project:deploy")
    assert lookup(**options) == "tok-1"
    issuing.next_token()
    write_assertion("project:other")
    assert lookup(**options) == "tok-2"
    write_assertion("project:deploy")
    assert lookup(**options) == "tok-1"
    assert token_requests(issuing) == 2


def test_a_token_the_api_refused_is_not_handed_out_from_the_memo(issuing):
    """api_call drops the entry of a refused token; the memo names the entry, never a copy of the token."""
    assert lookup(**issuing.base) == "tok-1"
    issuing.next_token()
    assert TokenClient(ClientOptions.from_mapping(issuing.base)).get_token(rejected="tok-1")["access_token"] == "tok-2"
    assert lookup(**issuing.base) == "tok-2"
    assert token_requests(issuing) == 2


def test_a_hit_shows_what_the_checks_said_and_where_the_token_came_from(issuing):
    options = dict(issuing.base, client_id="cid ")
    for _run in range(2):
        shown = Shown()
        assert lookup(shown, **options) == "tok-1"
        assert shown.warnings == ["client_id has leading or trailing whitespace, which is sent as given; remove it if the provider's "
                                  "client id has none."]
    assert token_requests(issuing) == 1
    assert shown.debug[-1].startswith("Token for client_id cid  from the token cache (%s), expires " % issuing.base["token_url"])


def test_a_yaml_alias_bomb_is_refused_before_anything_expands_it(issuing):
    bomb: list = ["a"]
    for _level in range(100):
        bomb = [bomb, bomb]
    with pytest.raises(AnsibleError, match=r"extra_params\['bomb'\] must be a string, number, boolean or list of those"):
        lookup(extra_params={"bomb": bomb}, **issuing.base)
    assert token_requests(issuing) == 0


def test_a_corrupt_memo_and_entry_cost_one_warning_and_one_request(issuing, isolated_home):
    assert lookup(**issuing.base) == "tok-1"
    directory = isolated_home / ".ansible" / "oauth2_client_credentials" / "cache"
    for name in cache_files(isolated_home):
        content = (directory / name).read_bytes()
        (directory / name).write_bytes(content[:-1] + bytes([content[-1] ^ 1]))
    issuing.next_token()
    shown = Shown()
    assert lookup(shown, **issuing.base) == "tok-2"
    assert len(shown.warnings) == 1 and "is corrupt or from another secret" in shown.warnings[0]
    assert lookup(**issuing.base) == "tok-2"
    assert token_requests(issuing) == 2


def test_a_word_that_is_not_a_boolean_is_refused_after_the_same_options_with_a_boolean(issuing):
    """The config manager reads "tru" as false: the memo of the inputs with false must not stand in for the check of "tru"."""
    assert lookup(cache=True, validate_token=False, **issuing.base) == "tok-1"
    with pytest.raises(AnsibleError, match=r"^Option validate_token has a value that is not of type bool"):
        lookup(cache=True, validate_token="tru", **issuing.base)


def test_what_a_variable_templates_to_decides_not_the_template(issuing):
    variables = {"oauth2_client_id": trust_as_template("{{ app }}"), "app": "first"}
    loader = DataLoader()

    def run(app):
        plugin = lookup_loader.get("oauth2.client_credentials.token", loader=loader, templar=Templar(loader=loader, variables=dict(variables, app=app)))
        return plugin.run([], variables=dict(variables, app=app), token_url=issuing.base["token_url"], client_secret=SECRET)[0]

    assert run("first") == "tok-1"
    issuing.next_token()
    assert run("second") == "tok-2"
    assert run("first") == "tok-1" and run("second") == "tok-2"
    assert token_requests(issuing) == 2


def test_the_environment_is_an_input_too(issuing, monkeypatch):
    assert lookup(**issuing.base) == "tok-1"
    issuing.next_token()
    monkeypatch.setenv("ANSIBLE_OAUTH2_SCOPE", "read")
    assert lookup(**issuing.base) == "tok-2"
    assert token_requests(issuing) == 2


def test_options_from_a_credentials_file_are_answered_from_the_memo_of_their_values(issuing, tmp_path):
    """Such options are resolved at every call (the file may be vault-encrypted); the checks are not repeated."""
    path = tmp_path / "credentials.yml"
    path.write_text('{"client_id": "cid", "client_secret": "%s"}' % SECRET)
    shown = Shown()
    assert lookup(shown, token_url=issuing.base["token_url"], credentials_file=str(path)) == "tok-1"
    assert lookup(shown, token_url=issuing.base["token_url"], credentials_file=str(path)) == "tok-1"
    assert token_requests(issuing) == 1 and shown.debug[-1].startswith("Token for client_id cid from the token cache")
    path.write_text('{"client_id": "other", "client_secret": "%s"}' % SECRET)
    issuing.next_token()
    assert lookup(token_url=issuing.base["token_url"], credentials_file=str(path)) == "tok-2"


def test_a_vault_encrypted_variable_keys_the_memo_by_its_plaintext(issuing, isolated_home, monkeypatch):
    """ansible-core before 2.19 leaves a vault-encrypted variable encrypted after templating: it keys the memo as the
    plaintext the options are resolved from, so that a lookup with a vault-encrypted secret is answered from it too."""
    from ansible.parsing import vault

    secrets = [("default", vault.VaultSecret(b"unit-vault-password"))]
    loader = DataLoader()
    loader.set_vault_secrets(secrets)
    if hasattr(vault, "VaultSecretsContext"):  # 2.19 and later decrypt with the run's secrets, which a play makes current
        monkeypatch.setattr(vault.VaultSecretsContext, "_current", vault.VaultSecretsContext(secrets))
    encrypted = vault.VaultLib(secrets).encrypt(SECRET).decode()
    variables = loader.load("oauth2_client_secret: !vault |\n  " + encrypted.replace("\n", "\n  "))
    for _run in range(2):
        plugin = lookup_loader.get("oauth2.client_credentials.token", loader=loader, templar=Templar(loader=loader, variables=variables))
        assert plugin.run([], variables=variables, token_url=issuing.base["token_url"], client_id="cid")[0] == "tok-1"
    assert token_requests(issuing) == 1
    # The token's entry, and the memo of the inputs.
    assert len(cache_files(isolated_home)) == 2
