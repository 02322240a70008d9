# SPDX-License-Identifier: GPL-3.0-or-later
"""Every example in docs/docsite/rst is checked, most of them by running it, so the guides cannot rot.

An example is a code block preceded by an RST comment that says what to do with it (comments do not render):

  .. example: file <name>        save the block as <name> in the guide's directory
  .. example: shell              run the block with bash in that directory; it must succeed
  .. example: github-actions     run the workflow's "Deploy" step with its env, secrets and variables filled in
  .. example: gitlab-ci          run the job's script with its variables and a File-type VAULT_PASSWORD_FILE
  .. example: gitlab-ci-id-tokens  run the job's script with its variables and, for each id_tokens entry, an identity
                                 token the provider accepts for that audience; deploy-bot is the provider's
                                 private_key_jwt client there, whose assertions stand in for GitLab's tokens
  .. example: awx-job <name> [args]  save as <name>, run it with only the AWX credential type's injections
  .. example: same-as-injectors  must equal the shipped AWX credential type's injectors
  .. example: execution-environment  installs the collection's tarball (or names it); it ships the requirements it relies on
  .. example: same-as-readme-install  must equal the README's install lines, which a test below runs on a copy of the checkout
  .. example: recipe             ansible-playbook --syntax-check, and every option it uses is one the collection has
  .. example: parse-only         valid YAML (needs a system the tests do not have; the guide says so)

Before running, https://idp.example.com becomes the test provider's issuer, https://api.example.com/v1/whoami its
API and deploy-bot its client id; CLIENT_SECRET and VAULT_PASSWORD are in the environment, and the provider's CA is
the trust store (REQUESTS_CA_BUNDLE, SSL_CERT_FILE), as a system's own CAs would be for a public provider.

The README is held to the same: its install lines are run on a copy of the checkout, and its first task, the
api_call play, then runs as written against the collection they installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator, List, NamedTuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCSITE = ROOT / "docs" / "docsite"
BIN = Path(sys.executable).parent
LABEL = ".. _ansible_collections.oauth2.client_credentials.docsite.%s:"
LOOKUP_CALL = re.compile(r"lookup\(\s*'oauth2\.client_credentials\.token'(?P<args>[^)]*)\)")
GALAXY_INSTALL = "ansible-galaxy collection install oauth2.client_credentials"
INSTALL = re.compile(r"ansible-galaxy collection install (?:--force |-p \S+ )*(?P<source>\S+)")
SHIPPED_REQUIREMENTS = "ansible_collections/oauth2/client_credentials/requirements.txt"
FAIL_ON_DEPRECATION = os.environ.get("OAUTH2_TEST_FAIL_ON_DEPRECATION") == "1"


class Example(NamedTuple):
    line: int
    marker: List[str]
    language: str
    text: str


def examples(path: Path) -> Iterator[Example]:
    """Code blocks with the marker comment before them; a code block without one fails the test."""
    lines = path.read_text().splitlines()
    marker = None
    for number, line in enumerate(lines):
        found = re.match(r"^\.\. example: (.+)$", line)
        if found:
            marker = found.group(1).split()
            continue
        block = re.match(r"^\.\. code-block:: (\S+)$", line)
        if not block:
            continue
        assert marker, "%s:%d: a code block without an '.. example:' comment" % (path.name, number + 1)
        body = []
        for following in lines[number + 1:]:
            if following.strip() and not following.startswith(" "):
                break
            body.append(following)
        yield Example(number + 1, marker, block.group(1), textwrap.dedent("\n".join(body)).strip("\n") + "\n")
        marker = None


def readme_block(heading: str, language: str) -> str:
    """The first code block of the language in the README section under heading."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n%s\n" % heading):]
    found = re.search(r"^```%s\n(.*?)^```$" % re.escape(language), section, re.M | re.S)
    assert found, "README.md has no %s block under %s" % (language, heading)
    return found.group(1)


def check_install(commands: List[str], text: str, collections: Path, where: str) -> None:
    """A job installs the collection the way that works before it is published (its tarball, or its git repository),
    names the Galaxy command only as what will work once it is, and installs the Python packages from the
    requirements.txt that the installed collection ships."""
    commands = [line for line in commands if not line.lstrip().startswith("#")]
    sources = [found.group("source") for line in commands for found in INSTALL.finditer(line)]
    assert sources, where + " installs no collection"
    for source in sources:
        assert re.fullmatch(r"\S*oauth2-client_credentials-\S*\.tar\.gz|git\+\S+", source), \
            "%s installs %s, which cannot work before the collection is published" % (where, source)
    assert GALAXY_INSTALL in text, where + " says what will work once the collection is published"
    requirements = [found.group(1) for line in commands for found in re.finditer(r"pip install -r (\S+)", line)]
    assert requirements and all(path.endswith(SHIPPED_REQUIREMENTS) for path in requirements), \
        where + " installs the Python packages from the installed collection's requirements.txt"
    assert (collections / SHIPPED_REQUIREMENTS).is_file(), "the installed collection ships requirements.txt"


def check_execution_environment(definition: dict, where: str) -> None:
    """The collection's tarball of galaxy.yml's version, copied into the build context and installed from there
    the way tests/ee/execution-environment.yml does it, or (once published) the collection's name."""
    assert definition["version"] == 3
    ours = [c for c in definition["dependencies"]["galaxy"]["collections"]
            if c["name"] == "oauth2.client_credentials" or "oauth2-client_credentials-" in c["name"]]
    assert len(ours) == 1, where + " installs the collection once"
    if ours[0]["name"] == "oauth2.client_credentials":
        return
    tarball = "oauth2-client_credentials-%s.tar.gz" % yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    assert ours[0].get("type") == "file" and Path(ours[0]["name"]).name == tarball, where + " installs " + tarball
    copied = [entry["dest"] for entry in definition.get("additional_build_files", []) if Path(entry["src"]).name == tarball]
    assert len(copied) == 1, where + " copies %s into the build context" % tarball
    assert ours[0]["name"] == "/build/%s/%s" % (copied[0], tarball)
    assert "COPY _build/{0}/ /build/{0}/".format(copied[0]) in definition["additional_build_steps"]["prepend_galaxy"]


def guides() -> List[str]:
    return sorted(path.stem for path in (DOCSITE / "rst").glob("*.rst"))


def option_names() -> dict:
    """Options by front end, from the files that declare them."""
    namespace: dict = {}
    exec(compile((ROOT / "plugins/doc_fragments/token_options.py").read_text(), "token_options.py", "exec"), namespace)  # pylint: disable=exec-used
    shared = set(yaml.safe_load(namespace["ModuleDocFragment"].DOCUMENTATION)["options"])
    specs = yaml.safe_load((ROOT / "roles/api_token/meta/argument_specs.yml").read_text())
    api_call = yaml.safe_load(re.search(r'DOCUMENTATION = r"""(.*?)"""', (ROOT / "plugins/modules/api_call.py").read_text(), re.S).group(1))
    return {"lookup": shared | {"output"}, "oauth2.client_credentials.token": shared | {"fact_name"},
            "oauth2.client_credentials.api_call": shared | set(api_call["options"]), "variables": set(specs["argument_specs"]["main"]["options"])}


def check_options(playbook: list, where: str) -> int:
    """Every keyword of the lookup and the module, and every oauth2_* variable, names a real option; returns how many."""
    names, checked = option_names(), 0

    def walk(node):
        nonlocal checked
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("oauth2.client_credentials.token", "oauth2.client_credentials.api_call") and isinstance(value, dict):
                    unknown = set(value) - names[key]
                    assert not unknown, "%s: the module %s has no option %s" % (where, key, unknown)
                    checked += len(value)
                if isinstance(key, str) and key.startswith("oauth2_"):
                    assert key in names["variables"], "%s: %s is not a variable the collection reads" % (where, key)
                    checked += 1
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            for call in LOOKUP_CALL.finditer(node):
                keywords = set(re.findall(r"(\w+)\s*=(?!=)", call.group("args")))
                assert keywords <= names["lookup"], "%s: the lookup has no option %s" % (where, keywords - names["lookup"])
                checked += len(keywords)

    walk(playbook)
    return checked


def load_awx_injection():
    spec = importlib.util.spec_from_file_location("awx_injection", Path(__file__).with_name("test_awx_credential.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docsite_is_what_antsibull_docs_expects():
    toctree = [entry for section in yaml.safe_load((DOCSITE / "extra-docs.yml").read_text())["sections"]
               for entry in section["toctree"]]
    assert sorted(toctree) == guides(), "extra-docs.yml lists exactly the guides in rst/"
    links = yaml.safe_load((DOCSITE / "links.yml").read_text())
    assert all(link["url"].startswith("https://") and link["description"] for link in links["extra_links"])
    for name in guides():
        assert (DOCSITE / "rst" / (name + ".rst")).read_text().splitlines()[0] == LABEL % name


def test_every_guide_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in guides() if "docs/docsite/rst/%s.rst" % name not in readme]
    assert missing == [], "README.md must link every guide"


@pytest.mark.parametrize("guide", guides())
def test_the_examples_of_each_guide(ansible, guide):
    provider = ansible.provider
    basic = provider.clients["basic"]
    substitutions = [("https://api.example.com/v1/whoami", provider.api_url), ("https://idp.example.com", provider.issuer),
                     ("deploy-bot", basic["client_id"])]

    def real(text: str) -> str:
        for placeholder, value in substitutions:
            text = text.replace(placeholder, value)
        return text

    env = dict(ansible.env, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), CLIENT_SECRET=basic["client_secret"],
               VAULT_PASSWORD=ansible.vault_password, REQUESTS_CA_BUNDLE=str(provider.ca_path), SSL_CERT_FILE=str(provider.ca_path))
    outputs: List[str] = []

    def bash(script: str, where: str, extra=None) -> None:
        result = subprocess.run(["bash", "-e", "-c", script], cwd=ansible.directory, env=dict(env, **(extra or {})),
                                capture_output=True, text=True, timeout=300, check=False)
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, "%s failed:\n%s%s" % (where, result.stdout, result.stderr)

    recipes: List[Path] = []
    secrets: List[str] = []
    ran = 0
    for example in examples(DOCSITE / "rst" / (guide + ".rst")):
        kind, args, where = example.marker[0], example.marker[1:], "%s.rst:%d" % (guide, example.line)
        if kind == "file":
            path = ansible.write(args[0], real(example.text))
            if example.text.startswith("#!"):
                path.chmod(0o700)
        elif kind == "shell":
            bash(real(example.text), where)
            ran += 1
        elif kind == "github-actions":
            workflow = yaml.safe_load(example.text)
            steps = workflow["jobs"]["deploy"]["steps"]
            assert all("uses" in step or "run" in step for step in steps)
            check_install("\n".join(step.get("run", "") for step in steps).splitlines(), example.text,
                          Path(ansible.env["ANSIBLE_COLLECTIONS_PATH"]), where)
            fill = {"secrets.OAUTH2_CLIENT_SECRET": basic["client_secret"], "vars.OAUTH2_CLIENT_ID": basic["client_id"]}
            deploy = next(step for step in steps if step.get("name") == "Deploy")
            step_env = {name: re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: fill[m.group(1)], real(str(value)))
                        for name, value in deploy["env"].items()}
            bash(real(deploy["run"]), where, step_env)
            ran += 1
        elif kind == "gitlab-ci":
            job = yaml.safe_load(example.text)["deploy"]
            check_install(job["before_script"], example.text, Path(ansible.env["ANSIBLE_COLLECTIONS_PATH"]), where)
            password_file = ansible.write("gitlab-file-variable", ansible.vault_password + "\n")
            job_env = {name: real(str(value)) for name, value in job["variables"].items()}
            bash("\n".join(real(line) for line in job["script"]), where, dict(job_env, VAULT_PASSWORD_FILE=str(password_file)))
            ran += 1
        elif kind == "gitlab-ci-id-tokens":
            job = yaml.safe_load(example.text)["deploy"]
            check_install(job["before_script"], example.text, Path(ansible.env["ANSIBLE_COLLECTIONS_PATH"]), where)
            federated = provider.clients["private_key"]["client_id"]

            def as_federated(text: str) -> str:
                return real(text.replace("deploy-bot", federated))

            # GitLab's token service is not here: each id_tokens variable gets an identity token the provider accepts.
            identity = {name: provider.identity_token(aud=as_federated(str(spec["aud"]))) for name, spec in job["id_tokens"].items()}
            job_env = {name: as_federated(str(value)) for name, value in job["variables"].items()}
            before = len(provider.client_assertions())
            bash("\n".join(as_federated(line) for line in job["script"]), where, dict(job_env, **identity))
            assert provider.client_assertions()[before:] == list(identity.values()), where + " sends the job's identity token"
            secrets += identity.values()
            ran += 1
        elif kind == "awx-job":
            injection = load_awx_injection()
            ansible.write(args[0], real(example.text))
            private_dir = ansible.directory / ("awx-private-%d" % example.line)
            private_dir.mkdir()
            extra_vars, awx_env = injection.inject(injection.load_credential_type(), {
                "issuer": provider.issuer, "client_id": basic["client_id"], "client_secret": basic["client_secret"]}, private_dir)
            bash(" ".join(["ansible-playbook", args[0], "-e", "@" + str(extra_vars), *(real(arg) for arg in args[1:])]), where, awx_env)
            ran += 1
        elif kind == "same-as-injectors":
            shipped = load_awx_injection().load_credential_type()["injectors"]
            assert yaml.safe_load(example.text)["injectors"] == shipped, where + " differs from the shipped credential type"
        elif kind == "execution-environment":
            check_execution_environment(yaml.safe_load(example.text), where)
            requirements = (ROOT / "requirements.txt").read_text()
            assert all(name in requirements for name in ("requests", "urllib3", "PyJWT[crypto]"))
        elif kind == "same-as-readme-install":
            assert example.text == readme_block("## Install", "sh"), where + " differs from the README's install lines"
        elif kind == "recipe":
            assert check_options(yaml.safe_load(example.text), where) > 0, where + " uses no option of the collection"
            recipes.append(ansible.write("recipe-%d.yml" % example.line, example.text))
        elif kind == "parse-only":
            assert yaml.safe_load(example.text)
        else:
            pytest.fail("%s: unknown example kind %r" % (where, kind))
    if recipes:
        bash("ansible-playbook --syntax-check " + " ".join(path.name for path in recipes), guide + " recipes")
    assert ran or recipes, "a guide with nothing run or checked"
    ansible.assert_no_secrets(Run("".join(outputs)), *secrets)


# What the README's first task leaves to the reader: their provider's issuer, their API, their client id.
README_PLACEHOLDERS = ("https://<subdomain>.onelogin.com/oidc/2", "https://api.example.com/v1/things", "0oa1example")
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.")


def copy_of_the_checkout(destination: Path) -> Path:
    """What a clone of the repository holds: tracked files and new ones not ignored, none of the build output."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():  # a tracked file deleted in the working tree is listed too
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def vars_file_from_comment(play: str, encrypt_string) -> tuple:
    """The variables file that the play's leading comment shows (its name, then its lines indented under it), with
    each value it shows as !vault encrypted for real."""
    lines = play.splitlines()
    comment = lines[:next(number for number, line in enumerate(lines) if not line.startswith("#"))]
    name = comment[0].lstrip("# ").split(",")[0]
    shown, vaulted = [], None
    for line in (line[len("#   "):] for line in comment[1:] if line.startswith("#   ")):
        if vaulted and line.startswith(" "):
            continue
        found = re.match(r"^(\w+): !vault \|$", line)
        vaulted = found.group(1) if found else None
        shown.append(encrypt_string(vaulted).rstrip("\n") if vaulted else line)
    return name, "\n".join(shown) + "\n"


def test_the_readme_installs_from_a_checkout_and_its_first_task_calls_the_api(ansible):
    """The README's install lines run on a copy of the checkout into ~/.ansible/collections (PIP_NO_INDEX: the
    requirements are already met here, and pip must neither download nor change anything), then its first task, the
    api_call play, runs as written on two hosts of group app against the collection they installed. Only the placeholders
    are replaced, the variables file is made as its comment says, and the vault password comes from a file, not a prompt."""
    provider, basic = ansible.provider, ansible.provider.clients["basic"]
    env = {name: value for name, value in ansible.env.items() if name != "ANSIBLE_COLLECTIONS_PATH"}
    env.update(PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               REQUESTS_CA_BUNDLE=str(provider.ca_path), SSL_CERT_FILE=str(provider.ca_path))

    def bash(script: str, cwd: Path) -> str:
        result = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, "%s failed:\n%s%s" % (script, result.stdout, result.stderr)
        return result.stdout + result.stderr

    installed = bash(readme_block("## Install", "sh"), copy_of_the_checkout(ansible.directory / "oauth2.client_credentials"))
    collection = Path(env["HOME"]) / ".ansible/collections/ansible_collections/oauth2/client_credentials"
    assert (collection / "MANIFEST.json").is_file() and (collection / "requirements.txt").is_file(), installed

    play = readme_block("## Call an API", "yaml")
    substitutions = dict(zip(README_PLACEHOLDERS, (provider.issuer, provider.api_url, basic["client_id"])))
    assert all(placeholder in play for placeholder in substitutions), "the README's first task still has these placeholders"

    def real(text: str) -> str:
        for placeholder, value in substitutions.items():
            text = text.replace(placeholder, value)
        return text

    name, variables = vars_file_from_comment(play, lambda variable: ansible.encrypt_string(basic["client_secret"], variable))
    ansible.write(name, real(variables))
    ansible.write("call.yml", real(play))
    ansible.write("inventory", "[app]\nweb1 ansible_connection=local\nweb2 ansible_connection=local\n")
    output = bash("ansible-playbook -i inventory call.yml --vault-password-file " + ansible.vault_password_file.name, ansible.directory)
    assert provider.token_requests() == 1, output
    assert provider.api_stats()["calls"] == 2, output
    assert output.count('"client_id": "%s"' % basic["client_id"]) == 2, "each host shows the API's answer:\n" + output
    assert not JWT.search(output) and "[DEPRECATION WARNING]" not in (output if FAIL_ON_DEPRECATION else "")
    ansible.assert_no_secrets(Run(installed + output))


class Run(NamedTuple):
    everything: str
