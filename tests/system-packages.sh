#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The Debian packages the tests need besides Python and Node.js: sshd, which tests/ssh_server.py starts on loopback
# so the module runs over a real ssh connection, and redis-server, which tests/redis_server.py starts on loopback for
# the token cache's Redis backend (unit and integration tests). As root (CI) the missing ones are installed; anyone
# else is told which are missing and how to install them. Not for the execution environment: that is bindep.txt.
#
# Usage: tests/system-packages.sh
set -euo pipefail

PACKAGES=(openssh-server redis-server)

if ! command -v dpkg-query >/dev/null; then
    echo "tests/system-packages.sh: not a Debian system; install the equivalents of: ${PACKAGES[*]}" >&2
    exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
    # shellcheck disable=SC2016  # ${Status} is dpkg-query's field, not the shell's
    if [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" -ne 0 ]]; then
    echo "tests/system-packages.sh: missing Debian package(s) ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
