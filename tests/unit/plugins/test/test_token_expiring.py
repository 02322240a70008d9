# SPDX-License-Identifier: GPL-3.0-or-later
"""The token_expiring test: epoch seconds only, so the answer is the same in every time zone."""

from __future__ import annotations

import time

import pytest
from ansible.errors import AnsibleError

from ansible_collections.oauth2.client_credentials.plugins.test import token_expiring as plugin

# Through the plugin's own table, as Jinja gets it (the class name would make pytest collect it as tests).
token_expiring = plugin.TestModule().tests()["token_expiring"]


@pytest.mark.parametrize("timezone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
def test_same_answer_in_every_time_zone(monkeypatch, timezone):
    monkeypatch.setenv("TZ", timezone)
    time.tzset()
    try:
        token = {"expires_at": int(time.time()) + 600}
        assert not token_expiring(token, 500) and token_expiring(token, 700) and not token_expiring(token)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_expired_and_unknown():
    assert token_expiring({"expires_at": int(time.time()) - 1})
    assert not token_expiring({"expires_at": None}, 10 ** 6)


@pytest.mark.parametrize("token, seconds, message", [
    ("eyJ.not.a.dict", 0, "expects a token result dictionary with expires_at, not str"),
    ({"access_token": "x"}, 0, "expects a token result dictionary with expires_at, not dict"),
    ({"expires_at": "soon"}, 0, "expires_at must be epoch seconds or null, not str"),
    ({"expires_at": 1}, float("nan"), "needs a finite number of seconds"),
    ({"expires_at": 1}, "a minute", "needs a finite number of seconds"),
])
def test_bad_input_is_a_clear_error_without_the_value(token, seconds, message):
    with pytest.raises(AnsibleError, match=message) as caught:
        token_expiring(token, seconds)
    assert "eyJ" not in str(caught.value)
