# SPDX-License-Identifier: GPL-3.0-or-later
"""Makes the repository importable as ansible_collections.oauth2.client_credentials for pytest,
and the test harness (tests/harness.py) importable as harness."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO / ".build" / "collections"


def _link_collection() -> None:
    link = COLLECTIONS_ROOT / "ansible_collections" / "oauth2" / "client_credentials"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(REPO, link)
    # Ansible's collection finder must own the ansible_collections namespace before anything imports from it.
    from ansible.plugins.loader import init_plugin_loader  # pylint: disable=import-outside-toplevel

    init_plugin_loader([str(COLLECTIONS_ROOT)])


# ansible-test units runs from an ansible_collections tree with its own collection loader, and the modules'
# tests there cannot import ansible.plugins.
if "ansible_pytest_collections" not in os.environ.get("PYTEST_PLUGINS", ""):
    _link_collection()
sys.path.insert(0, str(REPO / "tests"))
