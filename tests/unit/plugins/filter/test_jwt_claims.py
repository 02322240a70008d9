# SPDX-License-Identifier: GPL-3.0-or-later
"""The jwt_claims filter: claims for display, and errors that never repeat the value."""

from __future__ import annotations

import jwt
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.oauth2.client_credentials.plugins.filter.jwt_claims import FilterModule, jwt_claims

CLAIMS = {"iss": "https://idp", "aud": "api", "exp": 1}


def test_claims_of_a_jwt_even_expired_and_unverifiable():
    assert jwt_claims(jwt.encode(CLAIMS, "some-hmac-key-of-32-bytes-length", algorithm="HS256")) == CLAIMS
    assert FilterModule().filters()["jwt_claims"] is jwt_claims


@pytest.mark.parametrize("value", [
    "opaque-secret-token-value",
    "secret.secret.secret",
    jwt.utils.base64url_encode(b'{"alg":"none"}').decode() + "." + jwt.utils.base64url_encode(b"[1]").decode() + ".",
    "a.b.c.d.e",
])
def test_a_value_that_is_not_a_jwt_is_refused_without_showing_it(value):
    with pytest.raises(AnsibleFilterError, match=r"^jwt_claims: The value \(%d characters, not shown\) is not a JWT: " % len(value)) as caught:
        jwt_claims(value)
    assert "secret" not in str(caught.value) and value not in str(caught.value)


def test_only_strings():
    with pytest.raises(AnsibleFilterError, match=r"^jwt_claims expects a JWT string, not dict\.$"):
        jwt_claims({"access_token": "x"})
