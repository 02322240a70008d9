# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input to the lookup, the token module and api_call, as users mistype it: every case fails within a second with
one line that names the option, no traceback and no secret, and without a token request or an API call; a broken
cache_dir costs one warning naming it, and the token (and api_call's answer) still comes.

The cases run as tasks of one playbook per front end (ignore_errors: true), timed by the junit callback. The modules
run on the oldest Python make tests targets (OAUTH2_TEST_TARGET_PYTHON), where their argument specs are checked.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ansible.release import __version__ as ansible_version
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec

from junit_report import TRACEBACK_ENV, TaskOutcome, escaped, read_report

PLAY = "bad input"
FRONT_ENDS = ("lookup", "module", "api_call")
# The module each front end but the lookup runs, and what a task of each costs at least: a debug task for the lookup,
# the ping module for the modules (forks, module transfer).
MODULES = {"module": "oauth2.client_credentials.token", "api_call": "oauth2.client_credentials.api_call"}
FLOOR_KINDS = {"lookup": "debug", "module": "ping", "api_call": "ping"}
TARGET_PYTHON = os.environ.get("OAUTH2_TEST_TARGET_PYTHON") or sys.executable
LIMIT_SECONDS = 1.0
MARKER = "SECRET-MARKER"
FIFO_HOLDER = "fifo-holder"
# Before ansible-core 2.19 a module argument "{{ 42 }}" templates to the string "42", which is a good scope.
CORE_LINE = tuple(int(part) for part in ansible_version.split(".")[:2])
# Values of secret-like options; vault-encrypted in secrets.yml, so only the plugins could ever show them.
MARKERS = {"marker_nested": MARKER + "-1-nested", "marker_listed": MARKER + "-2-listed", "marker_scope": MARKER + "-3-scope",
           "marker_extra": MARKER + "-4-extra", "marker_reserved": MARKER + "-5-reserved", "marker_file": MARKER + "-6-file",
           "marker_dpop_key": MARKER + "-7-dpop-key", "marker_header": MARKER + "-8-header", "marker_assertion": MARKER + "-9-assertion"}
# The secrets of the shared token cache's cases, vault-encrypted like the others.
MARKERS.update(marker_cache_password=MARKER + "-10-cache-password", marker_cache_key=MARKER + "-11-cache-key")
# Non-loopback hosts are in TEST-NET-1 (192.0.2.0/24): a request there would hang until the 10 s timeout.
BAD_URLS = {
    "backslash_before_at": "http://192.0.2.2:18081\\@127.0.0.1/ok",
    "backslash_to_another_host": "http://127.0.0.1\\@evil.example/",
    "userinfo": "https://user:pw@idp.example/token",
    "userinfo_loopback_to_testnet": "http://127.0.0.1:80@192.0.2.2/",
    "space_in_host": "https://idp.exa mple/token",
    "tab_in_host": "http://127.0.0.1\t.192.0.2.2/",
    "newline_in_path": "https://192.0.2.2/to\nken",
    "percent_encoded_host": "http://%31%32%37.0.0.1/token",
    "fragment_before_at": "http://192.0.2.2#@127.0.0.1/",
    "non_ascii_host": "https://\u0456dp.example/token",
    "http_localhost_subdomain": "http://localhost.evil.example/",
    "http_localhost_trailing_dot": "http://localhost./token",
    "http_loopback_name_service": "http://127.0.0.1.nip.io/",
    "http_hex_loopback": "http://0x7f.1/",
    "http_decimal_loopback": "http://2130706433/",
    "http_octal_loopback": "http://0177.0.0.1/",
    "http_mapped_ipv6": "http://[::ffff:192.0.2.2]/",
    "http_uppercase_scheme": "HTTP://192.0.2.2/",
    "http_testnet": "http://192.0.2.2/",
    "ftp": "ftp://192.0.2.2/token",
    "no_scheme": "192.0.2.2/token",
    "empty_host": "https:///token",
    "unparsable_port": "https://192.0.2.2:99999/token",
}
# What every case starts from: a working client of the provider, and for api_call the test API it may call.
GOOD = {"token_url": "token_url", "ca_path": "ca_path", "client_id": "basic_client_id", "client_secret": "good_secret"}
API_GOOD = {"url": "api_url", "api_ca_path": "ca_path"}
# BAD_URLS that api_call's url is refused for too: the same check as token_url's, so a few stand for all.
BAD_API_URLS = ("userinfo", "backslash_before_at", "newline_in_path", "http_localhost_subdomain", "http_mapped_ipv6", "no_scheme",
                "unparsable_port")
# The DPoP key files of the cases, in files/: one vault-encrypted with another password, and one that is not there.
OTHER_VAULT_DPOP_KEY = "dpop-key-other-vault.pem"
MISSING_DPOP_KEY = "no-such-dpop-key.pem"
# The classes ansible-core 2.19+ wraps templated values in: a message that names one says nothing to a user.
INTERNAL_TYPE = re.compile(r"_AnsibleTagged\w*")
ALIAS_BOMB = "client_id: bomb\nextra_params:\n  l0: &l0 [" + ", ".join(["lol"] * 9) + "]\n" + "".join(
    "  l%d: &l%d [%s]\n" % (level, level, ", ".join(["*l%d" % (level - 1)] * 9)) for level in range(1, 9))

# Credentials files with one option of the wrong type or value: (label, file name in files/, content, what the error names).
# The module has no output option: for it the file's output is an unknown key, also one line naming it.
TYPED_FILES = [
    ("private_key_path a number", "typed-private-key-path.yml", "private_key_path: 5\n", ("private_key_path",)),
    ("timeout a word", "typed-timeout.yml", "timeout: soon\n", ("timeout", "credentials_file")),
    ("output not one of its choices", "typed-output.yml", "output: everything\n", ("output", "credentials_file")),
    ("extra_params with a number as a field name", "typed-extra-params.yml", "extra_params: {1: one, two: 2}\n", ("extra_params",)),
    ("validate_certs a word", "typed-validate-certs.yml", "validate_certs: nope\n", ("validate_certs", "credentials_file")),
]


@dataclass(frozen=True, eq=False)
class Case:
    """One bad input. names: what the error must name; empty for a cache case, which must succeed with one warning."""

    name: str
    options: Dict[str, Optional[str]]
    names: Tuple[str, ...] = ()
    cache_dir: Optional[str] = None
    forbidden: Tuple[str, ...] = ()

    def arguments(self, front_end: str) -> Dict[str, str]:
        """Option -> Jinja expression; None in options drops a working default."""
        merged = {**GOOD, **(API_GOOD if front_end == "api_call" else {}), **self.options}
        return {name: value for name, value in merged.items() if value is not None}


def error_cases() -> List[Case]:
    cases = [
        # The first error of a user of the playbooks, configured by variables or the environment: both are named.
        Case("client_id missing", {"client_id": None}, ("client_id", "oauth2_client_id", "ANSIBLE_OAUTH2_CLIENT_ID")),
        Case("neither token_url nor issuer", {"token_url": None}, ("token_url", "issuer", "oauth2_issuer", "ANSIBLE_OAUTH2_ISSUER")),
        Case("an option misspelt", {"scpoe": "['read']"}, ("scpoe", "did you mean scope?")),
        # ssl would report it as the provider failing verification.
        Case("ca_path a file without a PEM certificate", {"ca_path": "'not-a-ca.pem'"}, ("ca_path", "no PEM certificate")),
        Case("unknown auth_method", {"auth_method": "'client_secret_magic'"}, ("auth_method", "client_secret_post")),
        Case("scope a mapping holding a secret", {"scope": "{'read': marker_scope}"}, ("scope",)),
        Case("scope a list of mappings", {"scope": "[{'read': marker_scope}]"}, ("scope",)),
        Case("scope a number", {"scope": "42"}, ("scope",)),
        Case("client_secret a mapping", {"client_secret": "{'nested': marker_nested}"}, ("client_secret",)),
        Case("client_secret a list", {"client_secret": "[marker_listed, marker_nested]"}, ("client_secret",)),
        Case("extra_params a string", {"extra_params": "marker_extra"}, ("extra_params",)),
        Case("extra_params a list", {"extra_params": "[marker_extra]"}, ("extra_params",)),
        Case("extra_params a nested mapping", {"extra_params": "{'claims': {'x': marker_extra}}"}, ("extra_params",)),
        Case("extra_params sets grant_type", {"extra_params": "{'grant_type': 'password'}"}, ("extra_params", "grant_type")),
        Case("extra_params sets client_id", {"extra_params": "{'client_id': 'other'}"}, ("extra_params", "client_id")),
        Case("extra_params sets client_secret", {"extra_params": "{'client_secret': marker_reserved}"}, ("extra_params", "client_secret")),
        Case("credentials_file missing", {"credentials_file": "'no-such-creds.yml'"}, ("credentials_file",)),
        Case("credentials_file not YAML", {"credentials_file": "'not-yaml.yml'"}, ("credentials_file",)),
        Case("credentials_file YAML but a list", {"credentials_file": "'a-list.yml'"}, ("credentials_file",)),
        Case("credentials_file an alias bomb in extra_params", {"client_id": None, "credentials_file": "'alias-bomb.yml'"},
             ("extra_params",)),
        Case("credentials_file vault-encrypted with another password", {"client_id": None, "client_secret": None,
                                                                        "credentials_file": "'other-vault.yml'"},
             ("credentials_file", "none of the vault passwords given opens it")),
        Case("extra_params with a number as a field name", {"extra_params": "{1: 'one', 'two': 2}"}, ("extra_params",)),
        # Read as false by the config manager before: verification off for a typo.
        Case("validate_certs a word that is not a boolean", {"validate_certs": "'tru'"}, ("validate_certs",)),
    ]
    cases += [Case("credentials_file with " + label, {"credentials_file": "'%s'" % name}, names) for label, name, _content, names in TYPED_FILES]
    for label, _url in BAD_URLS.items():
        shown = ("pw",) if label == "userinfo" else ()
        cases.append(Case("token_url " + label, {"token_url": "bad_urls." + label}, ("token_url",), forbidden=shown))
        cases.append(Case("issuer " + label, {"token_url": None, "issuer": "bad_urls." + label}, ("issuer",), forbidden=shown))
    return cases


def api_call_cases() -> List[Case]:
    """Arguments only api_call has. Each is checked on the controller before a token is obtained: a typo costs no token
    request, and no request reaches the API (or TEST-NET-1, where it would hang).

    Without the cache every case that obtains a token shows as a request of its own; with it, only the first would.
    """
    post = {"method": "'POST'"}
    cases = [
        Case("url not a URL", {"url": "'not a url'"}, ("url",)),
        Case("url plain http to a host not on loopback", {"url": "'http://192.0.2.2/whoami'"}, ("url",)),
        Case("url missing", {"url": None}, ("url",)),
        Case("method with a space", {"method": "'GE T'"}, ("method",)),
        Case("method empty", {"method": "''"}, ("method",)),
        Case("body_format not one of its choices", {"body_format": "'xml'"}, ("body_format",)),
        Case("body a mapping with body_format raw", dict(post, body="{'name': 'web01'}", body_format="'raw'"), ("body", "raw")),
        Case("body with a nested mapping, form-urlencoded", dict(post, body="{'tags': {'env': 'prod'}}", body_format="'form-urlencoded'"),
             ("body", "tags")),
        Case("body that cannot be JSON", dict(post, body="{'when': now()}", body_format="'json'"), ("body", "JSON")),
        Case("headers setting Authorization", {"headers": "{'Authorization': 'Bearer ' ~ marker_header}"}, ("headers", "Authorization")),
        Case("headers setting authorization in lower case", {"headers": "{'authorization': 'Bearer ' ~ marker_header}"},
             ("headers", "authorization")),
        Case("headers setting DPoP", {"headers": "{'DPoP': marker_header}"}, ("headers", "DPoP")),
        # An API key with a header of the user's own after a line break: neither may be sent, nor shown.
        Case("a header value with a line break", {"headers": "{'X-Api-Key': marker_header ~ line_break ~ 'X-Injected: 1'}"},
             ("headers", "X-Api-Key")),
        Case("headers a list", {"headers": "['X-Api-Key: ' ~ marker_header]"}, ("headers",)),
        Case("status_code with a word", {"status_code": "[200, 'created']"}, ("status_code",)),
        Case("status_code 99", {"status_code": "[99]"}, ("status_code",)),
        Case("authorization given", {"authorization": "'Bearer ' ~ marker_header"}, ("authorization",)),
        Case("dpop_proof given", {"dpop_proof": "marker_header"}, ("dpop_proof",)),
        Case("api_timeout negative", {"api_timeout": "-1"}, ("api_timeout",)),
        Case("api_timeout a word", {"api_timeout": "'soon'"}, ("api_timeout",)),
        # validate_certs' twin: a word read as false would turn verification of the API's certificate off.
        Case("api_validate_certs a word that is not a boolean", {"api_validate_certs": "'tru'"}, ("api_validate_certs",)),
    ]
    cases += [Case("url " + label, {"url": "bad_urls." + label}, ("url",), forbidden=("pw",) if label == "userinfo" else ())
              for label in BAD_API_URLS]
    return [replace(case, options={"cache": "false", **case.options}) for case in cases]


def dpop_key_cases() -> List[Case]:
    """Bad DPoP keys, for every front end; the keys are vault-encrypted variables (dpop_keys), so only a plugin could show them.
    With dpop: true a key is parsed when a token is requested, before the request is sent."""
    dpop = {"dpop": "true"}
    return [
        Case("dpop a word that is not a boolean", {"dpop": "'tru'"}, ("dpop",)),
        Case("dpop_private_key not PEM", dict(dpop, dpop_private_key="marker_dpop_key"), ("dpop_private_key",)),
        Case("dpop_private_key a PEM certificate", dict(dpop, dpop_private_key="lookup('file', ca_path)"), ("dpop_private_key",)),
        Case("dpop_private_key a DSA key", dict(dpop, dpop_private_key="dsa_key"), ("dpop_private_key",)),
        Case("dpop_private_key protected by a passphrase", dict(dpop, dpop_private_key="passphrase_key"), ("dpop_private_key",)),
        Case("dpop_private_key while dpop is false", {"dpop_private_key": "good_dpop_key"}, ("dpop_private_key", "dpop is false")),
        Case("dpop_private_key_path missing", dict(dpop, dpop_private_key_path="'%s'" % MISSING_DPOP_KEY), ("dpop_private_key_path",)),
        Case("dpop_private_key_path vault-encrypted with another password", dict(dpop, dpop_private_key_path="'%s'" % OTHER_VAULT_DPOP_KEY),
             ("dpop_private_key_path", "vault")),
    ]


def assertion_cases(directory: Path) -> List[Case]:
    """A CI job's identity token as client_assertion or in client_assertion_file, wrong in each way a pipeline gets it
    wrong; the tokens are vault-encrypted variables (good_assertion, expired_assertion) or files under assertions/. Each
    is one line before any request: the assertion is decoded where the token would be requested, never sent."""
    def file(name: str) -> str:
        return "'%s'" % (directory / "assertions" / name)

    no_secret = {"client_secret": None}
    return [
        Case("client_assertion expired", dict(no_secret, client_assertion="expired_assertion"),
             ("client_assertion expired at", "request it in the job that runs the play")),
        Case("client_assertion not a JWT", dict(no_secret, client_assertion="marker_assertion"), ("client_assertion", "not a JWT")),
        Case("client_assertion with client_secret", {"client_assertion": "good_assertion"}, ("client_assertion", "client_secret")),
        Case("client_assertion and client_assertion_file",
             dict(no_secret, client_assertion="good_assertion", client_assertion_file=file("good.jwt")),
             ("client_assertion", "client_assertion_file")),
        Case("client_assertion_file expired", dict(no_secret, client_assertion_file=file("expired.jwt")), ("client_assertion_file", "expired at")),
        Case("client_assertion_file not a JWT", dict(no_secret, client_assertion_file=file("not-a-jwt.txt")),
             ("client_assertion_file", "not a JWT")),
        Case("client_assertion_file missing", dict(no_secret, client_assertion_file=file("no-such-token")),
             ("client_assertion_file", "cannot be read")),
        Case("client_assertion_file relative", dict(no_secret, client_assertion_file="'id-token'"), ("client_assertion_file", "absolute path")),
        Case("client_assertion_file with client_secret", {"client_assertion_file": file("good.jwt")}, ("client_assertion_file", "client_secret")),
        Case("client_assertion_file with private_key_path",
             dict(no_secret, client_assertion_file=file("good.jwt"), private_key_path="'client-key.pem'"),
             ("client_assertion_file", "private_key_path")),
        Case("client_assertion_file with auth_method private_key_jwt",
             dict(no_secret, client_assertion_file=file("good.jwt"), auth_method="'private_key_jwt'"),
             ("client_assertion_file", "auth_method is private_key_jwt")),
        Case("auth_method client_assertion without an assertion", dict(no_secret, auth_method="'client_assertion'"),
             ("client_assertion", "auth_method client_assertion needs it")),
    ]


def assertions(ansible) -> Dict[str, str]:
    """The identity tokens of the cases: one the provider would accept (never sent: each case fails before), one expired."""
    return {"good_assertion": ansible.provider.identity_token(), "expired_assertion": ansible.provider.identity_token(lifetime=-3600)}


def shared_cache_cases() -> List[Case]:
    """The options of the token cache on a Redis server, for every front end; none reaches a server (port 1 is closed)."""
    redis = {"cache_backend": "'redis'", "cache_password": "marker_cache_password"}
    return [
        Case("cache_backend not one of its choices", {"cache_backend": "'memcached'"}, ("cache_backend",)),
        Case("cache_backend redis without cache_url", dict(redis), ("cache_backend", "cache_url", "oauth2_cache_url")),
        Case("cache_url while cache_backend is file", {"cache_url": "'redis://127.0.0.1:1/0'"}, ("cache_url", "cache_backend")),
        Case("cache_url holding the password", dict(redis, cache_url="'redis://:' ~ marker_cache_password ~ '@127.0.0.1:1/0'"),
             ("cache_url", "cache_password")),
        Case("cache_url of another scheme", dict(redis, cache_url="'http://127.0.0.1:1/0'"), ("cache_url", "rediss://")),
        Case("cache_url with a timeout of its own", dict(redis, cache_url="'redis://127.0.0.1:1/0?socket_timeout=600'"),
             ("cache_url", "socket_timeout")),
        Case("cache_key shorter than 16 characters", dict(redis, cache_url="'redis://127.0.0.1:1/0'", cache_key="marker_cache_key[:10]"),
             ("cache_key",)),
        Case("cache_backend redis for an identity token without cache_key",
             dict(redis, cache_url="'redis://127.0.0.1:1/0'", client_secret=None, client_assertion="good_assertion"),
             ("cache_key", "client_assertion")),
    ]


def dpop_keys() -> Dict[str, str]:
    """PEM texts of the DPoP key cases: a DSA key (DPoP has no algorithm for it), an EC key protected by a passphrase, a
    good EC key given while dpop is false, and the good EC key of the file vault-encrypted with another password."""
    unencrypted = serialization.NoEncryption()

    def pem(key, encryption=unencrypted) -> str:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode("ascii")

    return {"dsa_key": pem(dsa.generate_private_key(2048)),
            "passphrase_key": pem(ec.generate_private_key(ec.SECP256R1()), serialization.BestAvailableEncryption(b"passphrase")),
            "good_dpop_key": pem(ec.generate_private_key(ec.SECP256R1())),
            "other_vault_key": pem(ec.generate_private_key(ec.SECP256R1()))}


def base64_lines(pem: str) -> List[str]:
    """The lines of a PEM text that only its key has: any of them in the output means the key leaked."""
    return [line for line in pem.splitlines()[1:-1] if len(line) >= 40]


def cache_cases(directory: Path, front_end: str) -> List[Case]:
    """cache_dir problems; each front end gets directories of its own, as the FIFO case changes its directory."""
    base = directory / ("cache-" + front_end)
    return [Case("cache_dir " + kind, {"cache_dir": "'%s'" % (base / name)}, cache_dir=str(base / name)) for kind, name in (
        ("a symbolic link to a good directory", "link-dir"),
        ("a regular file", "file-dir"),
        ("itself a FIFO", "fifo-dir"),
        ("holding FIFOs in place of its entry and lock", FIFO_HOLDER),
        ("owned by another user", "nobody-dir"),
    )]


def prepare_files(ansible, keys: Dict[str, str], tokens: Dict[str, str]) -> None:
    """secrets.yml (vault) with the DPoP keys and identity tokens, bad_urls.yml, line_break.yml (a newline is hard to write
    in a Jinja expression inside YAML), and the bad credentials files, DPoP key files, identity token files and cache
    directories of the cases."""
    secrets = dict(MARKERS, good_secret=ansible.secret("basic"), **keys, **tokens)
    ansible.write("secrets.yml", "".join("%s: %s\n" % (name, json.dumps(value)) for name, value in secrets.items()))
    ansible.vault("encrypt", "secrets.yml")
    ansible.write("bad_urls.yml", "bad_urls: %s\n" % json.dumps(BAD_URLS))
    ansible.write("line_break.yml", "line_break: %s\n" % json.dumps("\n"))
    ansible.write("files/not-yaml.yml", "client_id: [unclosed\nclient_secret: {{{\n")
    ansible.write("files/a-list.yml", "- client_id\n- client_secret\n")
    ansible.write("files/not-a-ca.pem", "MIIB: a certificate in DER or base64 without its PEM lines\n")
    ansible.write("files/alias-bomb.yml", ALIAS_BOMB)
    for _label, name, content, _names in TYPED_FILES:
        ansible.write("files/" + name, content)
    creds = "client_id: %s\nclient_secret: %s\n" % (ansible.provider.clients["basic"]["client_id"], MARKERS["marker_file"])
    other_password = ansible.write("other-vault-pass.txt", "other-" + ansible.vault_password + "\n")
    ansible.write("files/other-vault.yml", creds)
    ansible.write("files/" + OTHER_VAULT_DPOP_KEY, keys["other_vault_key"])
    for name in ("other-vault.yml", OTHER_VAULT_DPOP_KEY):
        result = ansible.command(["ansible-vault", "encrypt", "files/" + name, "--vault-password-file", str(other_password)])
        assert result.returncode == 0, result.stderr
    ansible.write("files/vaulted.yml", creds)
    ansible.vault("encrypt", "files/vaulted.yml")
    ansible.write("files/client-key.pem", ansible.provider.client_keys["rsa"].read_text())
    ansible.write("assertions/good.jwt", tokens["good_assertion"] + "\n")
    ansible.write("assertions/expired.jwt", tokens["expired_assertion"] + "\n")
    ansible.write("assertions/not-a-jwt.txt", '{"count": 1, "value": "%s-10-assertion-file"}\n' % MARKER)
    for front_end in FRONT_ENDS:
        base = ansible.directory / ("cache-" + front_end)
        base.mkdir(mode=0o700)
        (base / "real").mkdir(mode=0o700)
        (base / "link-dir").symlink_to(base / "real")
        (base / "file-dir").write_text("not a directory\n")
        os.mkfifo(base / "fifo-dir")
        (base / FIFO_HOLDER).mkdir(mode=0o700)
        (base / "nobody-dir").mkdir(mode=0o700)
        if os.getuid() == 0:
            os.chown(base / "nobody-dir", 65534, 65534)


def fifo_setup_tasks(directory: Path) -> str:
    """A good run fills the cache directory, then its entry and lock become FIFOs: what the case finds."""
    return """
    - name: "setup: fill {directory}"
      ansible.builtin.debug:
        msg: "{{{{ lookup('oauth2.client_credentials.token', {arguments}) | length }}}}"
    - name: "setup: replace the files in {directory} by FIFOs"
      ansible.builtin.shell: |
        set -e
        test -n "$(ls {directory})"
        for name in $(ls {directory}); do rm {directory}/$name; mkfifo -m 600 {directory}/$name; done
      changed_when: false
""".format(directory=directory, arguments=lookup_arguments(Case("", {"cache_dir": "'%s'" % directory})))


def lookup_arguments(case: Case) -> str:
    return ", ".join("%s=%s" % item for item in case.arguments("lookup").items())


def lookup_task(case: Case) -> str:
    return """
    - name: "lookup: {name}"
      ansible.builtin.debug:
        msg: "{{{{ lookup('oauth2.client_credentials.token', {arguments}) | length }}}}"
      ignore_errors: true
""".format(name=case.name, arguments=lookup_arguments(case))


def module_task(front_end: str, case: Case) -> str:
    """A task of the token module or of api_call (front_end), each argument a Jinja expression."""
    arguments = "".join('        %s: "{{ %s }}"\n' % item for item in case.arguments(front_end).items())
    return """
    - name: "{front_end}: {name}"
      {module}:
{arguments}      ignore_errors: true
""".format(front_end=front_end, name=case.name, module=MODULES[front_end], arguments=arguments)


def task(front_end: str, case: Case) -> str:
    return lookup_task(case) if front_end == "lookup" else module_task(front_end, case)


def floor_tasks(label: str) -> str:
    """What any task costs here: a debug task for the lookup, the ping module for the module (forks, module transfer)."""
    return """
    - name: "floor: debug {label}"
      ansible.builtin.debug:
        msg: nothing to do
    - name: "floor: ping {label}"
      ansible.builtin.ping:
""".format(label=label)


def playbook(tasks: List[str], vars_files: str, setup: str, paced: bool) -> str:
    """The cases between floor measurements at the start, the middle and the end, as the machine's load changes;
    paced: a floor measurement right before each case."""
    middle = len(tasks) // 2
    if paced:
        timed = [floor_tasks(str(index)) + task for index, task in enumerate(tasks)]
    else:
        timed = [floor_tasks("start")] + tasks[:middle] + [floor_tasks("middle")] + tasks[middle:] + [floor_tasks("end")]
    return """
- name: {play}
  hosts: localhost
  gather_facts: false
  vars_files: {vars_files}
  tasks:
{tasks}""".format(play=PLAY, vars_files=vars_files, tasks=setup + "".join(timed))


@dataclass
class Outcome(TaskOutcome):
    """What the junit callback says about one task, and the cache warnings that name its cache_dir."""

    cache_warnings: int = 0


@dataclass
class Tally:
    """The counts the suite prints, and every failed case with its reasons."""

    tried: int = 0
    passed: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(FRONT_ENDS, 0))
    not_applicable: List[str] = field(default_factory=list)
    retimed: List[str] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)
    floors: Dict[str, List[float]] = field(default_factory=lambda: {"debug": [], "ping": []})
    slowest: Tuple[float, str] = (0.0, "")

    def record(self, front_end: str, case: Case, outcome: Optional[Outcome], problems: List[str]) -> None:
        self.tried += 1
        if outcome:
            self.slowest = max(self.slowest, (outcome.seconds, "%s: %s" % (front_end, case.name)))
        if problems:
            self.failures.append("%s: %s: %s" % (front_end, case.name, "; ".join(problems)))
        else:
            self.passed[front_end] += 1

    def summary(self) -> List[str]:
        lines = ["bad-input suite: %d cases ran, %d passed (%s), %d not run here" % (
            self.tried, sum(self.passed.values()), ", ".join("%s %d" % item for item in self.passed.items()), len(self.not_applicable))]
        if self.not_applicable:
            lines[0] += ": " + ", ".join(self.not_applicable)
        lines.append("bad-input timing: slowest case %.2f s (%s); floor per task: debug %s s, ping module %s s%s" % (
            self.slowest[0], self.slowest[1], _seconds(self.floors["debug"]), _seconds(self.floors["ping"]),
            "; timed again after a slow first run: " + ", ".join(self.retimed) if self.retimed else ""))
        return lines + ["FAILED " + failure for failure in self.failures]


def _seconds(values: List[float]) -> str:
    return "/".join("%.2f" % value for value in values)


Pair = Tuple[str, Case]


def run_cases(ansible, pairs: List[Pair], vars_files: str = "[secrets.yml, bad_urls.yml, line_break.yml]", vault: bool = True,
              paced: bool = False) -> Tuple[object, Dict[str, Outcome], List[float], List[str]]:
    """One playbook run of (front end, case) pairs as tasks: per task the junit time and failure, and how many cache
    warnings name its cache_dir; and per pair the floor, what a debug task (lookup) or the ping module (modules) took,
    the median of the run's or, paced, right before the case; and cache warnings that name no case's cache_dir.

    Pipelining, as users of many tasks set it, halves each module task's overhead on a small machine.
    """
    tasks = [task(front_end, case) for front_end, case in pairs]
    cache_dirs = [pair[1].cache_dir for pair in pairs if pair[1].cache_dir]
    setup = "".join(fifo_setup_tasks(Path(directory)) for directory in cache_dirs if directory.endswith(FIFO_HOLDER))
    junit = ansible.directory / ("junit-%d" % len(list(ansible.directory.glob("junit-*"))))
    run = ansible.playbook(playbook(tasks, vars_files, setup, paced), vault=vault, env=dict(
        TRACEBACK_ENV, JUNIT_OUTPUT_DIR=str(junit), ANSIBLE_PIPELINING="true", ANSIBLE_PYTHON_INTERPRETER=TARGET_PYTHON))
    reports = list(junit.glob("*.xml"))
    assert len(reports) == 1, run.output
    output = run.output
    run.output += "\n" + reports[0].read_text()  # the report is output too: the secret checks cover it
    outcomes = read_report(junit, Outcome)
    # Warnings go to stderr, apart from their task; each case's cache_dir is its own, so the path tells them apart.
    # Older ansible-core wraps warnings, even inside paths, so white space is dropped before they are read.
    warnings = re.findall(r"\[WARNING\]:Tokencachenotused:.*?;thetokenisrequestedfromtheproviderinstead\.", "".join(output.split()))
    stray = [warning for warning in warnings if not any(directory in warning for directory in cache_dirs)]
    for front_end, case in pairs:
        outcome = outcomes.get("%s: %s" % (front_end, case.name))
        if outcome and case.cache_dir:
            outcome.cache_warnings = sum(1 for warning in warnings if case.cache_dir in warning)

    def floor(front_end: str, index: int) -> float:
        kind = FLOOR_KINDS[front_end]
        if paced:
            return outcomes["floor: %s %d" % (kind, index)].seconds
        times = sorted(outcomes["floor: %s %s" % (kind, label)].seconds for label in ("start", "middle", "end"))
        return times[1]

    return run, outcomes, [floor(pair[0], index) for index, pair in enumerate(pairs)], stray


def check(case: Case, outcome: Optional[Outcome], allowance: float, secrets: List[str]) -> Tuple[List[str], bool]:
    """What is wrong with a case's outcome, and whether it was too slow. allowance: what any such task costs here."""
    if outcome is None:
        return ["no result"], False
    problems = []
    if case.cache_dir:
        if outcome.failed:
            problems.append("failed: " + outcome.message)
        elif outcome.cache_warnings != 1:
            problems.append("%d warnings name %s, not one" % (outcome.cache_warnings, case.cache_dir))
    else:
        message = outcome.plugin_line
        if not outcome.failed:
            problems.append("did not fail")
        problems += outcome.problems
        problems += ["does not name %s" % word for word in case.names if word not in message]
        problems += ["shows %r" % word for word in case.forbidden if word in message]
        problems += ["names ansible-core's internal type %s" % name for name in INTERNAL_TYPE.findall(message)]
        problems += ["shows a secret" for secret in secrets if secret in outcome.message + message]
        if problems:
            problems.append("message: " + message[:500])
    if outcome.seconds - allowance >= LIMIT_SECONDS:
        problems.append("took %.2f s, of which %.2f s any such task takes" % (outcome.seconds, allowance))
        return problems, len(problems) == 1
    return problems, False


def judge(pairs: List[Pair], outcomes: Dict[str, Outcome], floors: List[float], secrets: List[str]) -> Dict[Pair, tuple]:
    """Per pair: its outcome, what is wrong with it, and whether only its time was."""
    verdicts = {}
    for (front_end, case), floor in zip(pairs, floors):
        outcome = outcomes.get("%s: %s" % (front_end, case.name))
        verdicts[front_end, case] = (outcome, *check(case, outcome, floor, secrets))
    return verdicts


def not_run_here(front_end: str, case: Case) -> str:
    """Why a case cannot run on this machine or ansible-core line; empty when it can."""
    if case.name.endswith("owned by another user") and os.getuid() != 0:
        return "root only, as CI runs"
    before_2_19 = CORE_LINE < (2, 19) and front_end != "lookup"
    if before_2_19 and case.name == "scope a number":
        return "a number is a good scope before ansible-core 2.19"
    if before_2_19 and case.name == "body that cannot be JSON":
        return "before ansible-core 2.19 the body templates to a string, which is sent as it is"
    return ""


def front_end_cases(directory: Path, front_end: str) -> List[Pair]:
    """One front end's playbook: every error case, the DPoP key and client assertion cases, api_call's own cases, and the
    cache cases."""
    own = api_call_cases() if front_end == "api_call" else []
    cases = error_cases() + dpop_key_cases() + assertion_cases(directory) + shared_cache_cases() + own + cache_cases(directory, front_end)
    return [(front_end, case) for case in cases]


def expected_requests(pairs: List[Pair]) -> Tuple[int, int]:
    """Token requests and API calls a playbook of pairs makes: one request to fill the FIFO case's directory, and one
    per cache case, which api_call follows with its call; no bad input sends either."""
    cached = [(front_end, case) for front_end, case in pairs if case.cache_dir]
    token_requests = sum(2 if case.cache_dir.endswith(FIFO_HOLDER) else 1 for _front_end, case in cached)
    return token_requests, sum(1 for front_end, _case in cached if front_end == "api_call")


def test_bad_input_fails_fast_and_clearly(ansible, capsys):
    keys = dpop_keys()
    tokens = assertions(ansible)
    prepare_files(ansible, keys, tokens)
    key_lines = [line for pem in keys.values() for line in base64_lines(pem)]
    secrets = [ansible.vault_password, *MARKERS.values(), *ansible.client_secrets(), *ansible.private_key_lines(), *key_lines,
               *(part for token in tokens.values() for part in (token, token.split(".")[1], token.split(".")[2]))]
    tally = Tally()
    runs = []
    # Each front end's own playbook, and a last one with no vault password, which only its credentials_file case needs.
    no_password = Case("credentials_file vault-encrypted, no vault password given",
                       {"client_id": None, "client_secret": None, "credentials_file": "'vaulted.yml'"}, ("credentials_file", "vault"))
    plays: List[Tuple[List[Pair], Dict[str, object]]] = [(front_end_cases(ansible.directory, front_end), {}) for front_end in FRONT_ENDS]
    plays.append(([(front_end, no_password) for front_end in FRONT_ENDS], {"vars_files": "[]", "vault": False}))
    for pairs, options in plays:
        not_here = {pair: reason for pair in pairs if (reason := not_run_here(*pair))}
        applicable = [pair for pair in pairs if pair not in not_here]
        tally.not_applicable += ["%s: %s (%s)" % (f, c.name, reason) for (f, c), reason in not_here.items()]
        before = ansible.provider.token_requests(), ansible.provider.api_stats()["calls"]
        run, outcomes, floors, stray = run_cases(ansible, applicable, **options)
        runs.append(run)
        tally.failures += ["a cache warning of no case: " + warning for warning in stray]
        made = ansible.provider.token_requests() - before[0], ansible.provider.api_stats()["calls"] - before[1]
        expected = expected_requests(applicable)
        tally.failures += ["%d %s, not %d" % (count, what, wanted) for what, count, wanted in zip(("token requests", "API calls"), made, expected)
                           if count != wanted]
        for front_end in FRONT_ENDS:
            tally.floors[FLOOR_KINDS[front_end]] += [floor for pair, floor in zip(applicable, floors) if pair[0] == front_end][:1]
        verdicts = judge(applicable, outcomes, floors, secrets)
        # Other test runs share this machine: a case slow only once was slowed by them; a request would hang every time.
        slow = [pair for pair, verdict in verdicts.items() if verdict[2]]
        if slow:
            run, outcomes, floors, stray = run_cases(ansible, slow, paced=True, **options)
            runs.append(run)
            tally.failures += ["a cache warning of no case: " + warning for warning in stray]
            tally.retimed += ["%s: %s" % (front_end, case.name) for front_end, case in slow]
            verdicts.update(judge(slow, outcomes, floors, secrets))
        for (front_end, case), verdict in verdicts.items():
            tally.record(front_end, case, verdict[0], verdict[1])

    with capsys.disabled():
        print("\n" + "\n".join(tally.summary()))
    assert ansible.provider.client_assertions() == [], "no identity token of a case reached the provider"
    for run in runs:
        assert MARKER not in run.everything, "a secret marker leaked into the output, the log or the junit report"
        assert escaped(run.everything) == [], "a Python error escaped a plugin"
        ansible.assert_no_secrets(run, ansible.vault_password, *key_lines, *secrets)
    assert not tally.failures, "\n".join(tally.failures)


def test_a_secret_or_a_typo_in_ansible_cfg_is_named_not_ignored(ansible):
    """The config manager ignores a key the options do not declare there: the secret would be silently unused, and the
    error would say client_secret is not set; a misspelt key would change nothing without a word."""
    secret = ansible.secret("basic")
    settings = "[oauth2_client_credentials]\ntoken_url = %s\nca_path = %s\n" % (ansible.provider.token_url, ansible.provider.ca_path)
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "{{ lookup('oauth2.client_credentials.token', client_id=basic_client_id) | length }}"
"""
    ansible.write("ansible.cfg", settings + "client_secret = %s\n" % secret)
    refused = ansible.playbook(play, env=TRACEBACK_ENV)
    assert refused.returncode != 0
    assert ("ansible.cfg %s sets client_secret in [oauth2_client_credentials], where it is never read (no secret belongs in "
            "ansible.cfg): give it as a vault-encrypted oauth2_client_secret variable, the ANSIBLE_OAUTH2_CLIENT_SECRET "
            "environment variable or in credentials_file." % (ansible.directory / "ansible.cfg")) in refused.output, refused.output
    assert "client_secret is not set" not in refused.output
    assert escaped(refused.output) == [] and ansible.provider.token_requests() == 0
    ansible.assert_no_secrets(refused)

    ansible.write("ansible.cfg", settings + "scpoe = read\n")
    warned = ansible.playbook(play, env={"ANSIBLE_OAUTH2_CLIENT_SECRET": secret})
    assert warned.returncode == 0, warned.output
    assert "sets scpoe in [oauth2_client_credentials], which is no option (did you mean scope?): it is ignored." in " ".join(
        warned.output.split()), warned.output
    ansible.assert_no_secrets(warned)
