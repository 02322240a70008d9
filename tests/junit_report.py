# SPDX-License-Identifier: GPL-3.0-or-later
"""What each task of a run did, read from the report of ansible-core's junit callback, for the bad-input and fault
suites: its time, whether it failed, the line the plugin raised, and any exception that escaped instead.

The suites run with ANSIBLE_DISPLAY_TRACEBACK=always, so from ansible-core 2.19 every failure carries its traceback:
the innermost exception of the chain is what the plugin raised. Before 2.19 a result carries a traceback only when
something other than the plugin's own error escaped. A Python error (KeyError, TypeError, ...) shows either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Type, TypeVar
from xml.etree import ElementTree

# The environment that makes an escaping exception show in the report; the junit callback itself is enabled per run.
TRACEBACK_ENV = {"ANSIBLE_DISPLAY_TRACEBACK": "always", "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit", "JUNIT_FAIL_ON_IGNORE": "true",
                 "JUNIT_HIDE_TASK_ARGUMENTS": "true"}
# What the plugins raise: the lookup (AnsibleLookupError, an alias of AnsibleTemplatePluginError from 2.19), the action
# plugin, the module's own error (fail_json in its handler carries it from 2.19), and a module result that failed
# without one, as ansible-core 2.19+ captures it.
PLUGIN_ERRORS = ("ansible.errors.AnsibleLookupError", "ansible.errors.AnsibleTemplatePluginError", "ansible.errors.AnsibleActionFail",
                 "ansible_collections.oauth2.client_credentials.plugins.module_utils.errors.OAuth2Error",
                 "ansible._internal._errors._captured.AnsibleResultCapturedError")
# The exception line that ends each traceback of a chain: its type at the start of a line, then its message.
_RAISED = re.compile(r"^Traceback \(most recent call last\):\n(?:[ \t].*\n)*([A-Za-z_][\w.]*)(?:: (.*))?\n?(.*)", re.M)
# How ansible-core before 2.19 words a lookup that raised something other than an AnsibleError.
_UNHANDLED = re.compile(r"An unhandled exception occurred|Error was a <class")


@dataclass
class TaskOutcome:
    """One task of the report."""

    seconds: float
    failed: bool
    message: str = ""
    plugin_line: str = ""
    problems: List[str] = field(default_factory=list)


Outcome = TypeVar("Outcome", bound=TaskOutcome)


def read_report(directory: Path, kind: Type[Outcome]) -> Dict[str, Outcome]:
    """Task name (without the play's prefix) -> its outcome, for every report the callback wrote into directory."""
    outcomes: Dict[str, Outcome] = {}
    for report in sorted(directory.glob("*.xml")):
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            failures = case.findall("failure") + case.findall("error")
            outcome = kind(float(case.get("time") or 0), bool(failures))
            if failures:
                outcome.message = failures[0].get("message") or ""
                outcome.plugin_line, outcome.problems = _plugin_line(outcome.message, failures[0].text or "")
            outcomes[case.get("name", "").split(": ", 1)[1]] = outcome
    return outcomes


def escaped(text: str) -> List[str]:
    """The exceptions other than Ansible's and the plugins' own errors that any traceback in text ends in (the trace of
    where a warning was issued ends in "Message: ...", and is none)."""
    return [kind for kind, _line, _after in _RAISED.findall(text) if not kind.startswith("ansible.") and kind not in PLUGIN_ERRORS + ("Message",)]


def _plugin_line(message: str, text: str) -> tuple:
    """The one line the plugin raised, and what is wrong with how the failure came about (nothing when all is well)."""
    raised = _RAISED.findall(text)
    if raised:
        kind, line, after = raised[0]
        if kind not in PLUGIN_ERRORS:
            return line, ["%s escaped (a traceback, not the plugin's own error)" % kind]
        # A message of several lines would go on where the next traceback or the chain's explanation should start.
        return line, [] if not after.strip() else ["the plugin's error is more than one line"]
    if _UNHANDLED.search(message):
        return message, ["an exception escaped the plugin: %s" % message[:200]]
    return message, [] if "\n" not in message.strip() else ["the error is more than one line"]
