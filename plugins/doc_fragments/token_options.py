# -*- coding: utf-8 -*-
# Copyright: oauth2.client_credentials contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options every front end shares, declared once."""

from __future__ import annotations


class ModuleDocFragment:
    """DOCUMENTATION holds what each option means; PLUGINS adds the env/ini/vars sources that modules cannot have."""

    DOCUMENTATION = r"""
options:
  token_url:
    description:
      - The provider's token endpoint, for example C(https://<subdomain>.onelogin.com/oidc/2/token).
      - When set, no discovery request is made and O(issuer) is ignored.
      - Must use C(https://); plain C(http://) is refused except for loopback hosts (C(127.0.0.1), C(::1), C(localhost)),
        which are then reached directly, never through a proxy.
      - User names or passwords in the URL, backslashes, spaces, control and non-ASCII characters are refused.
      - One of O(token_url) or O(issuer) is required.
    type: str
  issuer:
    description:
      - The provider's issuer URL, for example C(https://<subdomain>.onelogin.com/oidc/2).
      - The token endpoint is read from its OpenID Connect discovery document, C(<issuer>/.well-known/openid-configuration).
      - Used only when O(token_url) is not set.
    type: str
  client_id:
    description:
      - The OAuth client (application) id.
      - Required, directly or from O(credentials_file).
    type: str
  client_secret:
    description:
      - The OAuth client secret. Keep it in Ansible Vault.
      - Required for the secret-based O(auth_method)s, directly or from O(credentials_file).
      - Never shown in messages, warnings or task output.
    type: str
  auth_method:
    description:
      - How the client authenticates at the token endpoint. Use the method the client is registered with at the provider.
      - V(client_secret_basic) sends an HTTP Basic C(Authorization) header built from the percent-encoded id and secret
        (RFC 6749 section 2.3.1), so ids and secrets containing C(:), C(+), C(%), C(=) or spaces work.
      - V(client_secret_post) sends C(client_id) and C(client_secret) in the request body (OneLogin's "POST").
      - V(client_secret_jwt) sends a C(client_assertion) JWT signed with the client secret (RFC 7523); the secret itself
        never travels.
      - V(private_key_jwt) sends a C(client_assertion) JWT signed with O(private_key) or O(private_key_path); the provider
        knows only the public key.
      - V(tls_client_auth) authenticates with O(client_cert) and its key (O(client_key) or O(client_key_content)) on the
        TLS connection (RFC 8705, mutual TLS) and sends only C(client_id).
      - V(client_assertion) sends an assertion made elsewhere, O(client_assertion) or the content of O(client_assertion_file),
        as it is (RFC 7521, RFC 7523), for example the identity token of a CI job or a Kubernetes service account, which the
        provider trusts through a federated credential (workload identity federation). No secret and no key is needed.
      - When not set, V(client_assertion) if O(client_assertion) or O(client_assertion_file) is given, else V(private_key_jwt)
        if a private key is given, else V(tls_client_auth) if a client certificate is given and no secret, else
        V(client_secret_basic).
      - An assertion given together with O(client_secret), a private key or O(client_cert), or with another O(auth_method),
        is an error that names both.
    type: str
    choices: [client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth, client_assertion]
  private_key:
    description:
      - The client's private key in PEM form, for O(auth_method=private_key_jwt). Keep it in Ansible Vault.
      - RSA (signs V(RS256) unless O(client_assertion_algorithm) says V(RS384), V(RS512) or V(PS256) to V(PS512)),
        EC P-256, P-384 and P-521 (V(ES256), V(ES384), V(ES512)) and Ed25519 (V(EdDSA)) keys.
      - Never shown in messages, warnings or task output.
    type: str
  private_key_path:
    description:
      - A PEM file holding the private key, instead of O(private_key). It may be encrypted with C(ansible-vault encrypt);
        it is read and decrypted on the controller, and a relative path is searched like O(credentials_file).
    type: str
  private_key_passphrase:
    description:
      - The passphrase of an encrypted (PKCS#8 or traditional) PEM private key.
    type: str
  private_key_id:
    description:
      - The key id the provider knows the public key by, sent as the assertion's C(kid) header.
    type: str
  client_assertion_algorithm:
    description:
      - The signature algorithm of the client assertion.
      - For V(client_secret_jwt) V(HS256) (default), V(HS384) or V(HS512); for V(private_key_jwt) one that fits the key,
        by default V(RS256) for RSA, the curve's V(ES256) / V(ES384) / V(ES512) for EC, and V(EdDSA) for Ed25519.
    type: str
    choices: [HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA]
  client_assertion_audience:
    description:
      - The C(aud) of the client assertion. Defaults to the token endpoint URL; some providers want the issuer instead.
    type: str
  client_cert:
    description:
      - A PEM certificate file to present on the TLS connection, with O(client_key) or O(client_key_content). Required for
        O(auth_method=tls_client_auth), and usable with the other methods for certificate-bound tokens.
      - A relative path is searched on the controller like O(credentials_file); an absolute path is read where the
        plugin or module runs.
    type: str
  client_key:
    description:
      - The PEM private key file of O(client_cert), without a passphrase. Found like O(client_cert).
      - The file may be encrypted with C(ansible-vault encrypt); it is then read and decrypted on the controller with the
        play's vault secrets and reaches the module only as the C(no_log) option O(client_key_content), never as a
        readable file on a target.
      - An unencrypted file is read where the plugin or module runs.
    type: str
  client_key_content:
    description:
      - The private key of O(client_cert) as PEM text, instead of O(client_key). Keep it in Ansible Vault.
      - Python's TLS reads keys from files only. Where the plugin or module runs on Linux, the key is handed over as an
        anonymous in-memory file (memfd) for the duration of each request, which no directory lists and which ends with
        the process however it ends. Elsewhere it is a private temporary file (mode 0600), removed after each request,
        also when the process is ended by SIGTERM or Ctrl-C.
      - Never shown in messages, warnings or task output.
    type: str
  client_assertion:
    description:
      - An assertion made elsewhere, for O(auth_method=client_assertion), such as the identity token (a JWT) of a CI job
        (GitHub Actions, GitLab CI C(id_tokens)), a Kubernetes service account or another workload, which the provider
        accepts for this client through a federated credential. Sent with O(client_id) and O(client_assertion_type), and
        no secret.
      - Give it from the CI's environment as E(ANSIBLE_OAUTH2_CLIENT_ASSERTION), or O(client_assertion_file) when the
        runner writes it to a file and may replace it while the job runs.
      - "It is decoded, not verified (that is the provider's part): it must be a JWT, and when it has an C(exp) claim that
        time must be in the future, or the task fails before any request with one line that names the option. A token
        already cached for the same workload is still handed out after the assertion has expired."
      - The token cache keys its entries by the workload the assertion names (its C(iss), C(sub) and C(aud) claims) with
        the client and endpoint, so the next assertion of the same workload reuses a valid token and another workload never
        gets it; see O(cache).
      - Never shown in messages, warnings or task output.
    type: str
  client_assertion_file:
    description:
      - A file that holds the assertion, instead of O(client_assertion); read again at each token request, since CI runners
        and the kubelet (projected service-account tokens) replace it while a job runs.
      - Read where the token is requested, the controller for the lookup and M(oauth2.client_credentials.api_call), the
        host the M(oauth2.client_credentials.token) module runs on; never copied, decrypted or searched like C(files/).
        An absolute path (or one starting with C(~)) is required.
      - Checked like O(client_assertion); a file that cannot be read, or holds no JWT, fails with one line that names it.
    type: str
  client_assertion_type:
    description:
      - The C(client_assertion_type) sent with O(client_assertion) or O(client_assertion_file). Change it only for a provider
        that asks for another type of JWT assertion (for example the C(jwt-spiffe) type of the SPIFFE client authentication
        draft); the assertion must be a JWT whatever the type, so SAML assertions are not supported.
    type: str
    default: urn:ietf:params:oauth:client-assertion-type:jwt-bearer
  scope:
    description:
      - Scopes to request, sent space-separated. A list, or a string of space-separated scopes.
      - When omitted, the provider grants the client's default scopes.
    type: list
    elements: str
  resource:
    description:
      - Resource indicators (RFC 8707) naming the API the token is for, for example OneLogin's API Authorization identifier.
      - Each item is sent as its own C(resource) field.
    type: list
    elements: str
  audience:
    description:
      - The API audience, for providers that use an C(audience) field instead of O(resource), such as Auth0.
    type: str
  extra_params:
    description:
      - Further form fields for the token request, for provider-specific needs.
      - May not set fields the client owns (C(grant_type), C(client_id), C(client_secret), C(scope), C(resource), C(audience));
        use those options instead.
    type: dict
  validate_certs:
    description:
      - Whether to verify the provider's TLS certificate. Only turn this off for a throwaway test provider.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file (or directory) of CA certificates to trust for the provider instead of the system store.
      - Takes precedence over the E(REQUESTS_CA_BUNDLE) environment variable.
      - A relative path is searched on the controller like O(credentials_file), in the C(files/) of the role or play,
        then relative to the playbook. An absolute path, or one starting with C(~), is read where the plugin or module runs.
    type: str
  timeout:
    description:
      - Seconds one attempt of a request may take to connect and get the provider's answer; above 0, at most 600.
      - "Each token is obtained or fails within one time bound, (O(retries) + 1) x O(timeout) + O(retries) x O(max_retry_wait)
        seconds (130 by default): discovery, the token request, their retries and waits, the TLS handshake, the status
        line, the headers and the body of every answer, and the wait for another process's request through the token
        cache all share it. The module keeps it in its own process, so it ends there even after a task's C(timeout)
        keyword has failed the task."
    type: float
    default: 10
  retries:
    description:
      - How many times a request is repeated after a connection error, a timeout, or HTTP 429, 500, 502, 503 or 504;
        from 0 to 10. Any other answer, such as a refused client, fails at once.
      - Waits between attempts grow exponentially with random jitter; a C(Retry-After) header (seconds or an HTTP date)
        is honoured, one that is neither is ignored.
      - Each attempt is built anew, so with V(client_secret_jwt) and V(private_key_jwt) a retry sends a fresh client assertion.
      - Each retry is shown at C(-vvv) (attempt, cause, wait).
      - A retry is only made when it can finish within the time bound described under O(timeout).
    type: int
    default: 3
  max_retry_wait:
    description:
      - The longest wait in seconds before a retry, from 0 to 600.
      - When the provider's C(Retry-After) asks for longer, the request fails at once with an error that says so.
    type: float
    default: 30
  credentials_file:
    description:
      - A YAML or JSON file with C(client_id) and C(client_secret), and optionally any other option of this plugin,
        for example C(token_url) or C(scope).
      - The file may be encrypted with C(ansible-vault encrypt); it is decrypted on the controller with the play's vault secrets.
      - A relative path is searched like the C(files/) of the role or play, then relative to the playbook.
      - Options set in any other way (directly, by variable, environment or C(ansible.cfg)) take precedence over the file;
        a warning says so when a variable, environment variable or C(ansible.cfg) overrides a value the file sets.
    type: str
  cache:
    description:
      - Reuse a token until shortly before it expires, across tasks, hosts, forks and playbook runs of the same user,
        so that one credential set costs one token request per token lifetime.
      - Entries are files in O(cache_dir), encrypted and named with keys derived from the client secret and a random
        per-user key kept in C(<cache_dir>.key); without both, a cache file reveals no token and cannot be used to test
        guesses of the secret.
      - With O(auth_method=client_assertion) there is no secret; entries are keyed by the workload the assertion names
        (C(iss), C(sub), C(aud)), and only the per-user key protects them. The next job of the same workload run by the same
        user reuses a valid token; set O(cache=false), or a O(cache_dir) of the job's own, where that must not happen.
      - A cached token goes only to a request whose settings would obtain and trust it the same way, that is with the same
        TLS settings (O(validate_certs), the content of O(ca_path)), client certificate and key, private key and
        passphrase, assertion algorithm, and O(validate_token) with its expectations. Requests that differ only in
        O(timeout), O(retries), O(max_retry_wait) or O(refresh_margin) share a token.
      - A response without C(expires_in) (and no C(exp) claim) is never cached.
      - With O(cache_backend=redis) the entries are kept on a Redis server that many controllers share instead.
      - Turn it off when every task must present a freshly issued token (for example to test the provider), or when the
        home directory is shared by users who must not share tokens of the same client.
    type: bool
    default: true
  cache_dir:
    description:
      - Directory of the token cache, created with mode 0700. It must be a real directory (not a symbolic link) owned by
        the user with mode 0700, and its parents must be changeable only by root and the user (sticky directories such
        as C(/tmp) are fine); otherwise the cache is not used (with one warning) and tokens are requested normally.
      - The per-user key is kept beside it as C(<cache_dir>.key).
      - Defaults to C(oauth2_client_credentials/cache) in Ansible's home directory, C(ANSIBLE_HOME) (from the environment, or
        on the controller also from C(ansible.cfg)), else C(~/.ansible), of the user the plugin runs as.
      - C(~) is expanded where the plugin or module runs, for the user it runs as, like the default.
    type: str
  refresh_margin:
    description:
      - Seconds before expiry at which a cached token is no longer handed out and a new one is requested; at most a year.
      - Defaults to 10% of the token's lifetime, at most 60 seconds (a 600 s token is reused for 9 minutes).
    type: float
  cache_backend:
    description:
      - Where the token cache keeps its entries when O(cache) is on.
      - V(file) keeps them in O(cache_dir), for the processes of one user on one machine.
      - V(redis) keeps them on the Redis (or Valkey) server at O(cache_url), shared by every controller, CI runner and
        execution environment configured with it, so that a fleet makes one token request per credential set per token
        lifetime. Entries are the same encrypted blobs as the files, named by a keyed hash (C(oauth2cc:<hex>)), and expire
        in Redis with the token; nothing stored there names a client or holds a token or secret in clear. Needs the
        Python package C(redis) where the plugin or module runs.
      - Whenever the Redis server cannot be used (not reachable, slower than 1 second, full, read-only, refusing
        O(cache_password), or the C(redis) package missing), one warning says so and O(cache_dir) is used instead;
        the other processes of the user then skip the server for 10 seconds, so a dead server costs no task more than one
        short timeout.
    type: str
    choices: [file, redis]
    default: file
  cache_url:
    description:
      - The Redis server of O(cache_backend=redis) as C(redis://host:port/db), C(rediss://host:port/db) for TLS (the
        server's certificate is verified against the system's trust store) or C(unix:///path/to/redis.sock?db=N); an
        ACL user name may precede the host (C(redis://tokens@host:6379/0)).
      - The password never goes in the URL; give it as O(cache_password). Query parameters are refused, but for the
        C(db) of a C(unix://) URL.
      - Plain C(redis://) sends O(cache_password) and the encrypted entries unencrypted; across a network use C(rediss://).
    type: str
  cache_password:
    description:
      - The password of the Redis server (or of the ACL user in O(cache_url)). Keep it in Ansible Vault.
      - Never shown in messages, warnings or task output.
    type: str
  cache_key:
    description:
      - A secret shared by every controller of the fleet, kept in Ansible Vault, from which (with the credential) the
        names and the encryption keys of the Redis entries are derived, as the per-user key file does for O(cache_dir).
        At least 16 characters, for example from C(openssl rand -base64 32).
      - Without it the entries are derived from the credential alone. Whoever can read the Redis server can then test
        guesses of the client secret offline, and a weak secret falls; with it, the server alone tells nothing.
        Controllers share entries only when they use the same O(cache_key).
      - Required with O(auth_method=client_assertion), whose entries are keyed by the workload an identity token names,
        which is no secret; without O(cache_key) whoever reaches the server could read and write them.
      - Never shown in messages, warnings or task output.
    type: str
  validate_token:
    description:
      - Verify the access token before handing it out; the task fails unless it is a JWT that passes every check,
        and the error names the failed check (never the token).
      - The signature must verify with a key of the provider's JWKS (from O(jwks_url), else the C(jwks_uri) of the
        discovery document of O(issuer)) using one of O(validation_algorithms) that fits the key's type;
        C(exp), C(nbf) and C(iat) are checked with O(leeway); C(iss) must equal O(expected_issuer); C(aud) must contain
        O(expected_audience) when there is one; the C(typ) header, if any, must be C(at+jwt) (RFC 9068) or C(JWT).
      - The JWKS is cached like the discovery document (an hour). A token signed with a key it lacks makes it be fetched
        again, at most once a minute, so a rotated key is picked up and a stream of bad tokens cannot flood the provider.
      - On success the token result's C(claims) are the verified claims and C(claims_verified) is true.
      - A token is verified before it is cached, and a token cached without validation (or under other expectations)
        is never handed out while this is on; a cached verified token is not verified again on every use.
      - Opaque (non-JWT) tokens cannot be verified; leave this off for providers that issue them.
    type: bool
    default: false
  jwks_url:
    description:
      - The provider's JSON Web Key Set, the keys that verify tokens when O(validate_token) is on.
      - Defaults to the C(jwks_uri) of the discovery document of O(issuer); one of the two is needed for O(validate_token).
      - The same https rule as for O(token_url) applies, and so do O(ca_path), O(validate_certs) and O(timeout).
    type: str
  validation_algorithms:
    description:
      - The signature algorithms a token may use when O(validate_token) is on; the algorithm must also fit the key type.
      - Only asymmetric algorithms are accepted (V(RS256), V(RS384), V(RS512), V(PS256), V(PS384), V(PS512), V(ES256),
        V(ES384), V(ES512), V(ES256K), V(EdDSA)); C(none) and HMAC (C(HS256), ...) are refused, since anyone who knows the
        provider's public key could forge such tokens.
    type: list
    elements: str
    default: [RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA]
  leeway:
    description:
      - Seconds of clock difference allowed when O(validate_token) checks the C(exp), C(nbf) and C(iat) claims, at most 3600.
    type: float
    default: 30
  expected_issuer:
    description:
      - The C(iss) claim a token must carry when O(validate_token) is on.
      - Defaults to O(issuer); one of the two is needed for O(validate_token).
    type: str
  expected_audience:
    description:
      - A value the C(aud) claim of a token must contain when O(validate_token) is on.
      - Defaults to O(audience), else the single O(resource) when exactly one was requested; otherwise C(aud) is not checked.
    type: str
  dpop:
    description:
      - Obtain sender-constrained tokens with DPoP (RFC 9449), as Okta requires by default for API service apps created
        since 2024, and as Keycloak and Auth0 offer. Every token request carries a proof signed with the client's DPoP key,
        and the token is bound to that key, so it is worthless to whoever copies it without the key.
      - The provider's C(use_dpop_nonce) answer is followed once with the nonce it sends. A provider that ignores DPoP
        issues a C(Bearer) token, which is then used as such.
      - A DPoP-bound token (C(token_type) C(DPoP)) must be sent with a fresh proof for every API request, which only the
        M(oauth2.client_credentials.api_call) module makes. The lookup and the M(oauth2.client_credentials.token) module
        return it too (the C(authorization) value reads C(DPoP ...)), for tools that make their own proofs with the same key.
      - The key is O(dpop_private_key) or O(dpop_private_key_path); without one, an EC P-256 key is generated and kept
        encrypted in the token cache beside the token, so every fork and run shares it until the token is replaced
        (with O(cache=false), each task generates its own).
    type: bool
    default: false
  dpop_private_key:
    description:
      - The DPoP key in PEM form, to bring your own (for example one the provider pins). EC P-256, P-384 or P-521
        (V(ES256), V(ES384), V(ES512)), RSA (V(RS256)) or Ed25519 (V(EdDSA)); unencrypted, kept in Ansible Vault.
      - Needs O(dpop=true). Never shown in messages, warnings or task output.
    type: str
  dpop_private_key_path:
    description:
      - The DPoP key's PEM file, instead of O(dpop_private_key); vault-encrypted or not, read on the controller and found
        as O(private_key_path) is.
    type: str
"""

    # The attributes both modules share; each says what check mode does for it.
    MODULES = r"""
attributes:
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership: [oauth2.client_credentials.oauth2]
"""

    PLUGINS = r"""
options:
  token_url:
    env:
      - name: ANSIBLE_OAUTH2_TOKEN_URL
    ini:
      - section: oauth2_client_credentials
        key: token_url
    vars:
      - name: oauth2_token_url
  issuer:
    env:
      - name: ANSIBLE_OAUTH2_ISSUER
    ini:
      - section: oauth2_client_credentials
        key: issuer
    vars:
      - name: oauth2_issuer
  client_id:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_ID
    ini:
      - section: oauth2_client_credentials
        key: client_id
    vars:
      - name: oauth2_client_id
  client_secret:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_SECRET
    vars:
      - name: oauth2_client_secret
  auth_method:
    env:
      - name: ANSIBLE_OAUTH2_AUTH_METHOD
    ini:
      - section: oauth2_client_credentials
        key: auth_method
    vars:
      - name: oauth2_auth_method
  private_key:
    env:
      - name: ANSIBLE_OAUTH2_PRIVATE_KEY
    vars:
      - name: oauth2_private_key
  private_key_path:
    env:
      - name: ANSIBLE_OAUTH2_PRIVATE_KEY_PATH
    ini:
      - section: oauth2_client_credentials
        key: private_key_path
    vars:
      - name: oauth2_private_key_path
  private_key_passphrase:
    env:
      - name: ANSIBLE_OAUTH2_PRIVATE_KEY_PASSPHRASE
    vars:
      - name: oauth2_private_key_passphrase
  private_key_id:
    env:
      - name: ANSIBLE_OAUTH2_PRIVATE_KEY_ID
    ini:
      - section: oauth2_client_credentials
        key: private_key_id
    vars:
      - name: oauth2_private_key_id
  client_assertion_algorithm:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_ASSERTION_ALGORITHM
    ini:
      - section: oauth2_client_credentials
        key: client_assertion_algorithm
    vars:
      - name: oauth2_client_assertion_algorithm
  client_assertion_audience:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_ASSERTION_AUDIENCE
    ini:
      - section: oauth2_client_credentials
        key: client_assertion_audience
    vars:
      - name: oauth2_client_assertion_audience
  client_cert:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_CERT
    ini:
      - section: oauth2_client_credentials
        key: client_cert
    vars:
      - name: oauth2_client_cert
  client_key:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_KEY
    ini:
      - section: oauth2_client_credentials
        key: client_key
    vars:
      - name: oauth2_client_key
  client_key_content:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_KEY_CONTENT
    vars:
      - name: oauth2_client_key_content
  client_assertion:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_ASSERTION
    vars:
      - name: oauth2_client_assertion
  client_assertion_file:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_ASSERTION_FILE
    ini:
      - section: oauth2_client_credentials
        key: client_assertion_file
    vars:
      - name: oauth2_client_assertion_file
  client_assertion_type:
    env:
      - name: ANSIBLE_OAUTH2_CLIENT_ASSERTION_TYPE
    ini:
      - section: oauth2_client_credentials
        key: client_assertion_type
    vars:
      - name: oauth2_client_assertion_type
  scope:
    env:
      - name: ANSIBLE_OAUTH2_SCOPE
    ini:
      - section: oauth2_client_credentials
        key: scope
    vars:
      - name: oauth2_scope
  resource:
    env:
      - name: ANSIBLE_OAUTH2_RESOURCE
    ini:
      - section: oauth2_client_credentials
        key: resource
    vars:
      - name: oauth2_resource
  audience:
    env:
      - name: ANSIBLE_OAUTH2_AUDIENCE
    ini:
      - section: oauth2_client_credentials
        key: audience
    vars:
      - name: oauth2_audience
  extra_params:
    vars:
      - name: oauth2_extra_params
  validate_certs:
    env:
      - name: ANSIBLE_OAUTH2_VALIDATE_CERTS
    ini:
      - section: oauth2_client_credentials
        key: validate_certs
    vars:
      - name: oauth2_validate_certs
  ca_path:
    env:
      - name: ANSIBLE_OAUTH2_CA_PATH
    ini:
      - section: oauth2_client_credentials
        key: ca_path
    vars:
      - name: oauth2_ca_path
  timeout:
    env:
      - name: ANSIBLE_OAUTH2_TIMEOUT
    ini:
      - section: oauth2_client_credentials
        key: timeout
    vars:
      - name: oauth2_timeout
  retries:
    env:
      - name: ANSIBLE_OAUTH2_RETRIES
    ini:
      - section: oauth2_client_credentials
        key: retries
    vars:
      - name: oauth2_retries
  max_retry_wait:
    env:
      - name: ANSIBLE_OAUTH2_MAX_RETRY_WAIT
    ini:
      - section: oauth2_client_credentials
        key: max_retry_wait
    vars:
      - name: oauth2_max_retry_wait
  credentials_file:
    env:
      - name: ANSIBLE_OAUTH2_CREDENTIALS_FILE
    ini:
      - section: oauth2_client_credentials
        key: credentials_file
    vars:
      - name: oauth2_credentials_file
  cache:
    env:
      - name: ANSIBLE_OAUTH2_CACHE
    ini:
      - section: oauth2_client_credentials
        key: cache
    vars:
      - name: oauth2_cache
  cache_dir:
    env:
      - name: ANSIBLE_OAUTH2_CACHE_DIR
    ini:
      - section: oauth2_client_credentials
        key: cache_dir
    vars:
      - name: oauth2_cache_dir
  refresh_margin:
    env:
      - name: ANSIBLE_OAUTH2_REFRESH_MARGIN
    ini:
      - section: oauth2_client_credentials
        key: refresh_margin
    vars:
      - name: oauth2_refresh_margin
  cache_backend:
    env:
      - name: ANSIBLE_OAUTH2_CACHE_BACKEND
    ini:
      - section: oauth2_client_credentials
        key: cache_backend
    vars:
      - name: oauth2_cache_backend
  cache_url:
    env:
      - name: ANSIBLE_OAUTH2_CACHE_URL
    ini:
      - section: oauth2_client_credentials
        key: cache_url
    vars:
      - name: oauth2_cache_url
  cache_password:
    env:
      - name: ANSIBLE_OAUTH2_CACHE_PASSWORD
    vars:
      - name: oauth2_cache_password
  cache_key:
    env:
      - name: ANSIBLE_OAUTH2_CACHE_KEY
    vars:
      - name: oauth2_cache_key
  validate_token:
    env:
      - name: ANSIBLE_OAUTH2_VALIDATE_TOKEN
    ini:
      - section: oauth2_client_credentials
        key: validate_token
    vars:
      - name: oauth2_validate_token
  jwks_url:
    env:
      - name: ANSIBLE_OAUTH2_JWKS_URL
    ini:
      - section: oauth2_client_credentials
        key: jwks_url
    vars:
      - name: oauth2_jwks_url
  validation_algorithms:
    env:
      - name: ANSIBLE_OAUTH2_VALIDATION_ALGORITHMS
    ini:
      - section: oauth2_client_credentials
        key: validation_algorithms
    vars:
      - name: oauth2_validation_algorithms
  leeway:
    env:
      - name: ANSIBLE_OAUTH2_LEEWAY
    ini:
      - section: oauth2_client_credentials
        key: leeway
    vars:
      - name: oauth2_leeway
  expected_issuer:
    env:
      - name: ANSIBLE_OAUTH2_EXPECTED_ISSUER
    ini:
      - section: oauth2_client_credentials
        key: expected_issuer
    vars:
      - name: oauth2_expected_issuer
  expected_audience:
    env:
      - name: ANSIBLE_OAUTH2_EXPECTED_AUDIENCE
    ini:
      - section: oauth2_client_credentials
        key: expected_audience
    vars:
      - name: oauth2_expected_audience
  dpop:
    env:
      - name: ANSIBLE_OAUTH2_DPOP
    ini:
      - section: oauth2_client_credentials
        key: dpop
    vars:
      - name: oauth2_dpop
  dpop_private_key:
    env:
      - name: ANSIBLE_OAUTH2_DPOP_PRIVATE_KEY
    vars:
      - name: oauth2_dpop_private_key
  dpop_private_key_path:
    env:
      - name: ANSIBLE_OAUTH2_DPOP_PRIVATE_KEY_PATH
    ini:
      - section: oauth2_client_credentials
        key: dpop_private_key_path
    vars:
      - name: oauth2_dpop_private_key_path
"""
