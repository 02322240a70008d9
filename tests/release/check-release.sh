#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Release checks: changelog fragments, the collection tarball (nothing generated inside, installs and works from an
# empty collections path), antsibull-docs lint-collection-docs, and the execution environment's build context.
#
# Usage: tests/release/check-release.sh <bin directory of a venv installed from tests/requirements/lint.txt>
#   e.g. tests/release/check-release.sh .venv-lint/bin
# Writes only under .build/release/. The real provider tests (tests/integration) use an installed tarball too.
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1/ansible-builder" || ! -x "$1/antsibull-docs" ]]; then
    echo "usage: $0 <venv bin directory holding ansible-builder, antsibull-docs and antsibull-changelog>" >&2
    exit 2
fi
bin="$(cd "$1" && pwd -P)"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="${bin}:${PATH}"
out="${PWD}/.build/release"
rm -rf "${out}"
mkdir -p "${out}/dist" "${out}/home"

step() { printf '\n== %s\n' "$*"; }

step "antsibull-changelog lint"
antsibull-changelog lint

step "ansible-galaxy collection build"
ansible-galaxy collection build --output-path "${out}/dist" .
tarball="$(find "${out}/dist" -name 'oauth2-client_credentials-*.tar.gz')"
generated="$(tar tzf "${tarball}" | grep -E \
    '(^|/)(\.ansible|\.venv[^/]*|\.build|node_modules|__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.tox)(/|$)|^tests/output(/|$)|\.py[co]$' \
    || true)"
if [[ -n "${generated}" ]]; then
    printf 'generated files in %s:\n%s\n' "${tarball}" "${generated}" >&2
    exit 1
fi
for required in LICENSE README.md meta/runtime.yml meta/execution-environment.yml requirements.txt requirements-redis.txt bindep.txt; do
    tar tzf "${tarball}" "${required}" >/dev/null
done

step "install into an empty collections path and use it"
collections="${out}/collections"
ansible-galaxy collection install "${tarball}" -p "${collections}"
export ANSIBLE_COLLECTIONS_PATH="${collections}" ANSIBLE_HOME="${out}/home" ANSIBLE_NOCOLOR=1
ansible-doc oauth2.client_credentials.token >/dev/null
ansible-doc -t lookup oauth2.client_credentials.token >/dev/null
ansible-doc -t test oauth2.client_credentials.token_expiring >/dev/null
ansible-doc -t role oauth2.client_credentials.api_token >/dev/null
ansible-playbook --syntax-check oauth2.client_credentials.get_token
ansible-playbook --syntax-check -i localhost, oauth2.client_credentials.call_api
cat > "${out}/smoke.yml" <<'PLAY'
- name: The installed collection's test plugin
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A token that expired an hour ago is expiring, one without expiry is not
      ansible.builtin.assert:
        that:
          - "{'expires_at': now(utc=true).timestamp() - 3600} is oauth2.client_credentials.token_expiring"
          - "{'expires_at': None} is not oauth2.client_credentials.token_expiring(60)"
PLAY
ansible-playbook -i localhost, -c local "${out}/smoke.yml"

step "antsibull-docs lint-collection-docs"
antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs self \
    "${collections}/ansible_collections/oauth2/client_credentials"

step "ansible-builder introspect and create"
ansible-builder introspect --sanitize "${collections}" > "${out}/introspect.txt"
cat "${out}/introspect.txt"
grep -q 'PyJWT\[crypto\]' "${out}/introspect.txt"
grep -q 'ca-certificates' "${out}/introspect.txt"
# The shared token cache's client: the EE's AWX credentials may choose cache_backend: redis.
grep -q "'redis>=" "${out}/introspect.txt"
cp "${tarball}" "${out}/oauth2-client_credentials.tar.gz"
ansible-builder create -f tests/ee/execution-environment.yml -c "${out}/ee-context" --output-filename Containerfile
for file in Containerfile _build/requirements.yml _build/collections/oauth2-client_credentials.tar.gz; do
    [[ -s "${out}/ee-context/${file}" ]] || { echo "missing from the EE build context: ${file}" >&2; exit 1; }
done
grep -q 'ansible-core==2.19.14' "${out}/ee-context/Containerfile"

step "release checks passed"
