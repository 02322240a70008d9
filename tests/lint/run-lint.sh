#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make lint: yamllint on the checkout, then ansible-lint (production profile, no skip list) on roles/ and playbooks/.
#
# Usage: tests/lint/run-lint.sh <bin directory of a venv installed from tests/requirements/lint.txt>
#   e.g. tests/lint/run-lint.sh .venv-lint/bin
#
# ansible-lint runs from the checkout, without --offline: it then installs this collection into .ansible/
# (git- and build-ignored) and resolves oauth2.client_credentials.* names; with --offline it does not.
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1/ansible-lint" || ! -x "$1/yamllint" ]]; then
    echo "usage: $0 <venv bin directory holding ansible-lint and yamllint>" >&2
    exit 2
fi
bin="$(cd "$1" && pwd -P)"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# ansible-lint runs ansible-galaxy and ansible-playbook --syntax-check: the venv's own, not others on PATH.
export PATH="${bin}:${PATH}"
"${bin}/yamllint" --strict .
# The guides: valid reStructuredText (their examples are run by tests/integration/test_docs_examples.py).
(cd docs/docsite && "${bin}/rstcheck" rst/*.rst)
"${bin}/ansible-lint" --profile production roles/ playbooks/
