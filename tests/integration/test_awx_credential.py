# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX credential type, injected the way AWX injects it, drives the collection's own playbook with nothing else.

AWX renders a custom credential type's injectors with a sandboxed Jinja environment over the credential's inputs
(fields left empty are undefined), writes each file template to a private temporary file whose path becomes
tower.filename (one file) or tower.filename.<name> (several), renders the env and extra_vars templates, and passes
the extra vars to ansible-playbook as a YAML file whose strings are all tagged !unsafe. These tests do the same, then
run oauth2.client_credentials.get_token with only those injections: no vault file, no oauth2_* variables.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import jinja2
import jinja2.meta
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

CREDENTIAL_TYPE = Path(__file__).resolve().parents[2] / "extensions" / "awx" / "oauth2_client_credentials.yml"


def load_credential_type() -> dict:
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


class UnsafeDumper(yaml.SafeDumper):
    """Writes every string as !unsafe, so ansible-playbook never templates a credential value."""


UnsafeDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar("!unsafe", value))


def inject(credential_type: dict, inputs: dict, private_dir: Path) -> tuple:
    """The extra-vars file path and the environment that a job with this credential would get."""
    sandbox = ImmutableSandboxedEnvironment()
    namespace = {key: value for key, value in inputs.items() if value not in ("", None)}
    tower = SimpleNamespace()
    injectors = credential_type.get("injectors", {})
    for label, template in injectors.get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=private_dir)
        with os.fdopen(handle, "w") as stream:
            stream.write(sandbox.from_string(template).render(tower=tower, **namespace))
        os.chmod(path, 0o600)
        if "." in label:
            if not isinstance(getattr(tower, "filename", None), SimpleNamespace):
                tower.filename = SimpleNamespace()
            setattr(tower.filename, label.split(".", 1)[1], path)
        else:
            tower.filename = path

    def render(node):
        if isinstance(node, dict):
            return {render(key): render(value) for key, value in node.items()}
        if isinstance(node, list):
            return [render(item) for item in node]
        return sandbox.from_string(node).render(tower=tower, **namespace)

    env = {name: render(template) for name, template in injectors.get("env", {}).items()}
    extra_vars = private_dir / "extravars.yml"
    extra_vars.write_text(yaml.dump(render(injectors.get("extra_vars", {})), Dumper=UnsafeDumper))
    return extra_vars, env


def test_the_credential_type_is_one_awx_accepts():
    """What AWX checks when the type is saved, and what it needs from the type to render it."""
    credential_type = load_credential_type()
    assert credential_type["kind"] in ("cloud", "net")
    fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
    assert set(credential_type["inputs"]["required"]) <= set(fields)
    for field in fields.values():
        assert field["type"] in ("string", "boolean") and field["label"]
    for secret in ("client_secret", "private_key", "private_key_passphrase", "cache_password", "cache_key"):
        assert fields[secret]["secret"] is True
    injectors = credential_type["injectors"]
    assert set(injectors) <= {"env", "file", "extra_vars"}
    assert not [name for name in injectors.get("env", {}) if name.upper().startswith("ANSIBLE_")]
    assert not [name for name in injectors.get("extra_vars", {}) if name.lower().startswith("ansible_")]
    templates = list(injectors.get("file", {}).values()) + list(injectors.get("env", {}).values()) \
        + list(injectors.get("extra_vars", {}).values())
    env = jinja2.Environment()
    for template in templates:
        assert jinja2.meta.find_undeclared_variables(env.parse(template)) <= set(fields) | {"tower"}
    options = yaml.safe_load(_fragment_documentation())["options"]
    for name in ("auth_method", "cache_backend"):
        assert set(fields[name]["choices"]) <= set(options[name]["choices"])
    assert set(fields) <= set(options), "every input is an option of the collection"


def _fragment_documentation() -> str:
    namespace: dict = {}
    source = (CREDENTIAL_TYPE.parents[2] / "plugins" / "doc_fragments" / "token_options.py").read_text()
    exec(compile(source, "token_options.py", "exec"), namespace)  # pylint: disable=exec-used
    return namespace["ModuleDocFragment"].DOCUMENTATION


def trust_store(ansible) -> dict:
    """The execution environment's trust store: the provider's CA, as an EE image with the CA added would have it."""
    return {"REQUESTS_CA_BUNDLE": str(ansible.provider.ca_path), "SSL_CERT_FILE": str(ansible.provider.ca_path)}


def run_get_token(ansible, inputs: dict, *args: str):
    private_dir = ansible.directory / "awx-private"
    private_dir.mkdir()
    extra_vars, env = inject(load_credential_type(), inputs, private_dir)
    run = ansible.playbook_fqcn("oauth2.client_credentials.get_token", "-e", "@" + str(extra_vars), *args,
                                env=dict(trust_store(ansible), **env), vault=False)
    return run, extra_vars


def test_a_secret_client_with_an_issuer_and_characters_that_json_and_yaml_quote(ansible):
    """Also: the credential gives defaults, and an oauth2_* variable of the job template or playbook still decides."""
    client = ansible.provider.clients["special"]  # id and secret full of : + % = / & and spaces
    run, extra_vars = run_get_token(ansible, {
        "issuer": ansible.provider.issuer, "token_url": "", "client_id": client["client_id"],
        "client_secret": client["client_secret"], "scope": "read write admin", "private_key": ""},
        "-e", "oauth2_scope=write")
    assert run.returncode == 0, run.output
    assert '"granted_scope": "write"' in run.output
    assert json.dumps(client["client_id"]) in run.output  # the unverified claims name the client
    assert client["client_secret"] not in extra_vars.read_text()  # only the file path is an extra var
    ansible.assert_no_secrets(run)


def test_a_private_key_jwt_client_with_a_token_url(ansible):
    client = ansible.provider.clients["private_key"]
    run = run_get_token(ansible, {
        "token_url": ansible.provider.token_url, "client_id": client["client_id"],
        "private_key": ansible.provider.client_keys["rsa"].read_text(), "private_key_id": "rsa",
        "auth_method": "private_key_jwt"})[0]
    assert run.returncode == 0, run.output
    assert '"client_id": "cc-private-key-client"' in run.output
    ansible.assert_no_secrets(run)


def test_a_client_with_a_workload_identity_token_file_and_no_secret(ansible):
    """A container group mounts the job pod's projected service-account token; the credential names its path only."""
    token = ansible.provider.identity_token()
    path = ansible.write("pod/var/run/secrets/oauth2/token", token)
    run, extra_vars = run_get_token(ansible, {
        "token_url": ansible.provider.token_url, "client_id": ansible.provider.clients["private_key"]["client_id"],
        "client_assertion_file": str(path)})
    assert run.returncode == 0, run.output
    assert '"client_id": "cc-private-key-client"' in run.output
    assert ansible.provider.client_assertions() == [token] and token not in extra_vars.read_text()
    ansible.assert_no_secrets(run, token)


def test_jobs_in_fresh_homes_share_one_token_through_the_credentials_redis_server(make_controller, tmp_path, provider, redis_server):
    """What AWX does to every job: a new home, so a file cache saves nothing. With the credential's Redis server, the
    second job, in a home of its own, makes no token request."""
    client = provider.clients["basic"]
    inputs = {"token_url": provider.token_url, "client_id": client["client_id"], "client_secret": client["client_secret"],
              "cache_backend": "redis", "cache_url": redis_server.url, "cache_password": redis_server.password,
              "cache_key": "awx-fleet-cache-key-0123456789"}
    redis_server.client().flushall()
    provider.reset()
    for job in ("job-1", "job-2"):
        ansible = make_controller(tmp_path / job)
        run, extra_vars = run_get_token(ansible, inputs)
        assert run.returncode == 0 and "[WARNING]" not in run.output, run.output
        assert redis_server.password not in extra_vars.read_text()
        ansible.assert_no_secrets(run, redis_server.password, inputs["cache_key"])
    assert provider.token_requests() == 1
    assert len(redis_server.client().keys("oauth2cc:*")) >= 1
