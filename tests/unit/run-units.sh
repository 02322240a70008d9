#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Run tests/unit with `ansible-test units --venv`, in the same ansible_collections copy and offline pip bootstrap
# as tests/sanity/run-sanity.sh. ansible-test installs tests/unit/requirements.txt into its venv.
#
# Usage: tests/unit/run-units.sh <path-to-ansible-test> [extra ansible-test units args...]
#   e.g. tests/unit/run-units.sh .venv/bin/ansible-test --python 3.11
set -euo pipefail
ANSIBLE_TEST_COMMAND=units exec "$(dirname "${BASH_SOURCE[0]}")/../sanity/run-sanity.sh" "$@"
