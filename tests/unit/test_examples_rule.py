# SPDX-License-Identifier: GPL-3.0-or-later
"""The README's rule, kept by every example the collection ships: a task that puts a token into a request header has
no_log: true, or calls the API with api_call, which never shows the token.

Before ansible-core 2.22 nothing masks a token in a task's arguments: ansible.builtin.uri shows its headers at -vvv.
Users copy examples, so every example is held to the rule: the YAML code blocks of README.md, of every role's README
and of the guides (docs/docsite/rst), and the EXAMPLES string of every plugin. A token is a lookup of
oauth2.client_credentials.token, the authorization or access_token of a token result, or a variable the example set
from either. no_log may also come from an enclosing block or play, where Ansible applies it to every task.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Iterator, List, NamedTuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"""(?:lookup|query|q)\(\s*['"]oauth2\.client_credentials\.token['"]"""
                   r"""|\.authorization\b|\[\s*['"]authorization['"]\s*\]|\baccess_token\b""")
TRUE = (True, "true", "True", "yes", "on")
# Keys of a task, block or play that are not a module's arguments.
NOT_A_MODULE = {"vars", "module_defaults", "environment", "args"}


class Example(NamedTuple):
    path: Path
    line: int  # where the YAML starts in the file
    text: str


class Task(dict):
    """A mapping that remembers the line it starts on in its example."""

    line = 0


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Safe loading that keeps each mapping's line and reads tags such as !vault as plain values."""


def _mapping(loader, node):
    mapping = Task(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line
    return mapping


def _tagged(loader, _suffix, node):
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_multi_constructor("!", _tagged)


def markdown_examples(path: Path) -> Iterator[Example]:
    lines = path.read_text().splitlines()
    start = None
    for number, line in enumerate(lines):
        if start is None and re.match(r"^\s*```\s*(yaml|yml)\s*$", line):
            start = number + 1
        elif start is not None and re.match(r"^\s*```\s*$", line):
            yield Example(path, start + 1, textwrap.dedent("\n".join(lines[start:number])))
            start = None


def rst_examples(path: Path) -> Iterator[Example]:
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        if not re.match(r"^\s*\.\. code-block:: (yaml|yml|yaml\+jinja)\s*$", line):
            continue
        indent = len(line) - len(line.lstrip())
        body: List[str] = []
        for following in lines[number + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        yield Example(path, number + 2, textwrap.dedent("\n".join(body)))


def plugin_examples(path: Path) -> Iterator[Example]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "EXAMPLES" for t in node.targets):
            yield Example(path, node.value.lineno, node.value.value)


def shipped_examples(root: Path = ROOT) -> List[Example]:
    found: List[Example] = []
    for readme in [root / "README.md", *sorted(root.glob("roles/*/README.md"))]:
        found += markdown_examples(readme)
    for guide in sorted(root.glob("docs/docsite/rst/*.rst")):
        found += rst_examples(guide)
    for plugin in sorted(root.glob("plugins/**/*.py")):
        found += plugin_examples(plugin)
    return found


def _text(value) -> str:
    if isinstance(value, dict):
        return " ".join(_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return str(value)


def _holds_token(value, token_names: set) -> bool:
    text = _text(value)
    return bool(TOKEN.search(text)) or any(re.search(r"\b%s\b" % re.escape(name), text) for name in token_names if "{{" in text)


def _token_names(node, names: set) -> set:
    """Variables that an example sets from a token (set_fact, vars), so that a header using one of them counts too."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("vars", "ansible.builtin.set_fact", "set_fact") and isinstance(value, dict):
                names.update(name for name, held in value.items() if _holds_token(held, set()))
            _token_names(value, names)
    elif isinstance(node, list):
        for item in node:
            _token_names(item, names)
    return names


def violations(example: Example) -> List[str]:
    """One line for each task of the example that puts a token into a header without no_log: true."""
    try:
        document = list(yaml.load_all(example.text, Loader=_Loader))  # nosec B506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        return ["%s:%d: the YAML example does not parse: %s" % (_shown(example.path), example.line, str(exc).splitlines()[0])]
    names = _token_names(document, set())
    found: List[str] = []

    def walk(node, protected: bool) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, protected)
            return
        if not isinstance(node, dict):
            return
        here = protected if "no_log" not in node else node["no_log"] in TRUE
        for key, value in node.items():
            if key in NOT_A_MODULE or not isinstance(value, dict) or "headers" not in value:
                continue
            if _holds_token(value["headers"], names) and not here:
                task = repr(node["name"]) if "name" in node else "without a name"
                found.append("%s:%d: task %s (%s) puts a token into headers without no_log: true; set it on the task, or use "
                             "oauth2.client_credentials.api_call" % (_shown(example.path), example.line + getattr(node, "line", 0), task, key))
        for key, value in node.items():
            if key != "no_log":
                walk(value, here)

    walk(document, False)
    return found


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def test_every_shipped_example_keeps_tokens_out_of_shown_headers():
    examples = shipped_examples()
    sources = {example.path for example in examples}
    assert ROOT / "README.md" in sources and ROOT / "roles/api_token/README.md" in sources
    assert len([path for path in sources if path.suffix == ".rst"]) == len(list(ROOT.glob("docs/docsite/rst/*.rst")))
    assert len([path for path in sources if path.suffix == ".py"]) >= 5, "the EXAMPLES of the lookup, both modules, the filter and the test"
    broken = [line for example in examples for line in violations(example)]
    assert not broken, "\n".join(broken)


def test_the_examples_still_show_headers_with_tokens():
    """The rule is checked against something: the shipped examples do put tokens into headers, under no_log."""
    headers_with_tokens = [example for example in shipped_examples() if re.search(r"headers:", example.text) and TOKEN.search(example.text)]
    assert len(headers_with_tokens) >= 5


PLAY = """\
- name: A play
  hosts: app
  %s
  tasks:
%s
"""

BAD = {
    "a lookup in uri's headers": """\
    - name: Call it
      ansible.builtin.uri:
        url: https://api.example.com/
        headers:
          Authorization: "{{ lookup('oauth2.client_credentials.token', output='header') }}"
""",
    "a fact's authorization in any header": """\
    - name: Call it
      uri:
        url: https://api.example.com/
        headers:
          X-Api-Token: "{{ ansible_facts.oauth2_token.authorization }}"
""",
    "a registered result's access_token": """\
    - name: Call it
      ansible.builtin.uri:
        url: https://api.example.com/
        headers: {Authorization: "Bearer {{ obtained.token.access_token }}"}
""",
    "a variable set from the lookup": """\
    - name: Keep it
      ansible.builtin.set_fact:
        api_token: "{{ lookup('oauth2.client_credentials.token') }}"
      no_log: true
    - name: Call it
      ansible.builtin.uri:
        url: https://api.example.com/
        headers:
          Authorization: "Bearer {{ api_token }}"
""",
    "no_log false": """\
    - name: Call it
      ansible.builtin.uri:
        url: https://api.example.com/
        headers:
          Authorization: "{{ oauth2_token['authorization'] }}"
      no_log: false
""",
    "a block's no_log turned off for the task": """\
    - name: A block
      no_log: true
      block:
        - name: Call it
          ansible.builtin.uri:
            url: https://api.example.com/
            headers:
              Authorization: "{{ oauth2_token.authorization }}"
          no_log: false
""",
}

GOOD = {
    "no_log on the task": BAD["a lookup in uri's headers"] + "      no_log: true\n",
    "no_log on the block": """\
    - name: A block
      no_log: true
      block:
        - name: Call it
          ansible.builtin.uri:
            url: https://api.example.com/
            headers:
              Authorization: "{{ oauth2_token.authorization }}"
""",
    "api_call": """\
    - name: Call it
      oauth2.client_credentials.api_call:
        url: https://api.example.com/
        headers:
          Accept: application/json
""",
    "headers without a token": """\
    - name: Call it
      ansible.builtin.uri:
        url: https://api.example.com/
        headers:
          Accept: application/json
""",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_token_in_headers_without_no_log_fails_naming_the_file_and_task(tmp_path, case):
    """Each bad example, in each kind of file the check reads, fails with the file, the line and the task's name."""
    play = PLAY % ("gather_facts: false", BAD[case])
    (tmp_path / "roles/r").mkdir(parents=True)
    (tmp_path / "docs/docsite/rst").mkdir(parents=True)
    (tmp_path / "plugins/lookup").mkdir(parents=True)
    (tmp_path / "README.md").write_text("# Title\n\n```yaml\n%s```\n" % play)
    (tmp_path / "roles/r/README.md").write_text("Some text.\n\n```yml\n%s```\n" % play)
    (tmp_path / "docs/docsite/rst/guide.rst").write_text("Guide\n=====\n\n.. code-block:: yaml\n\n%s\nAfter.\n"
                                                         % textwrap.indent(play, "   "))
    (tmp_path / "plugins/lookup/x.py").write_text('DOCUMENTATION = ""\nEXAMPLES = r"""\n%s"""\n' % BAD[case].replace("\n    ", "\n")[4:])
    found = sorted(line for example in shipped_examples(tmp_path) for line in violations(example))
    before_the_task = BAD[case].count("\n", 0, BAD[case].index("- name: Call it"))
    expected = [("README.md", 8), ("docs/docsite/rst/guide.rst", 10), ("plugins/lookup/x.py", 3), ("roles/r/README.md", 8)]
    assert len(found) == len(expected), found
    for line, (name, first_task_line) in zip(found, expected):
        assert line.startswith("%s:%d: task 'Call it' " % (tmp_path / name, first_task_line + before_the_task)), line
        assert "without no_log: true" in line, line


@pytest.mark.parametrize("case", sorted(GOOD))
def test_a_protected_or_tokenless_header_passes(case):
    assert violations(Example(ROOT / "example.yml", 1, PLAY % ("gather_facts: false", GOOD[case]))) == []


def test_no_log_on_the_play_protects_its_tasks():
    assert violations(Example(ROOT / "example.yml", 1, PLAY % ("no_log: true", BAD["a lookup in uri's headers"]))) == []


def test_an_example_that_does_not_parse_fails():
    assert "does not parse" in violations(Example(ROOT / "example.yml", 3, "- name: [unclosed\n"))[0]
