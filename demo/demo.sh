#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole collection at work against the local test provider: run by `make demo`, which starts the
# provider and API (tests/harness.py run) and passes their addresses in OAUTH2_TEST_* variables.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.venv/bin
work=$PWD/.build/demo
rm -rf "$work/run" && mkdir -p "$work/run" && cd "$work/run"

echo "== Building and installing the collection as a user would"
"$bin/ansible-galaxy" collection build "$OLDPWD" --output-path . --force >/dev/null
"$bin/ansible-galaxy" collection install oauth2-client_credentials-*.tar.gz -p collections --force >/dev/null

echo "== Vault-encrypting demo credentials with a generated vault password"
umask 077
"$bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))' > vault-pass.txt
"$bin/python" - "$OAUTH2_TEST_CLIENTS" > vault_creds.yml <<'PY'
import json, sys
client = json.load(open(sys.argv[1]))["basic"]
print("oauth2_client_id: %s\noauth2_client_secret: %s" % (json.dumps(client["client_id"]), json.dumps(client["client_secret"])))
PY
"$bin/ansible-vault" encrypt vault_creds.yml --vault-password-file vault-pass.txt >/dev/null
printf '[app]\n' > inventory.ini
for n in 1 2 3 4; do printf 'web%d ansible_connection=local\n' "$n" >> inventory.ini; done

# The demo keeps its token cache to itself, not in ~/.ansible.
export ANSIBLE_COLLECTIONS_PATH=$PWD/collections ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_PYTHON_INTERPRETER=$bin/python \
    ANSIBLE_OAUTH2_CACHE_DIR=$PWD/token-cache
common=(-i inventory.ini -e @vault_creds.yml --vault-password-file vault-pass.txt
        -e "oauth2_issuer=$OAUTH2_TEST_ISSUER" -e "oauth2_ca_path=$OAUTH2_TEST_CA_PATH" -e oauth2_scope=read)

echo "== ansible-playbook oauth2.client_credentials.get_token"
"$bin/ansible-playbook" oauth2.client_credentials.get_token "${common[@]}"

echo "== ansible-playbook oauth2.client_credentials.call_api (one token, four hosts)"
"$bin/ansible-playbook" oauth2.client_credentials.call_api "${common[@]}" \
    -e "api_url=$OAUTH2_TEST_API_URL" -e "api_ca_path=$OAUTH2_TEST_CA_PATH"

echo "== Token requests the provider answered: $("$bin/python" -c 'import json, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
print(json.load(urllib.request.urlopen(sys.argv[1], context=context))["token_requests"])' "$OAUTH2_TEST_STATS_URL" "$OAUTH2_TEST_CA_PATH")"
