"""The web app's hygiene settings: defaults, parsing, and errors that name the setting."""

from __future__ import annotations

import pytest

from phta.config import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    SettingsError,
    load_settings,
)


def test_defaults_work_on_a_fresh_machine(tmp_path):
    s = load_settings(tmp_path, env={})
    assert (s.max_request_bytes, s.max_upload_bytes) == (DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_UPLOAD_BYTES)
    assert s.api_docs is True and s.secure_cookies is False and s.trusted_proxies == ()


def test_settings_are_read_from_the_environment(tmp_path):
    s = load_settings(tmp_path, env={"PHTA_MAX_REQUEST_BYTES": "65536", "PHTA_MAX_UPLOAD_BYTES": "1048576",
                                     "PHTA_API_DOCS": "false", "PHTA_SECURE_COOKIES": "true"})
    assert (s.max_request_bytes, s.max_upload_bytes) == (65536, 1048576)
    assert s.api_docs is False and s.secure_cookies is True


@pytest.mark.parametrize(("name", "value"), [("PHTA_MAX_REQUEST_BYTES", "2MB"), ("PHTA_MAX_REQUEST_BYTES", "10"),
                                             ("PHTA_MAX_UPLOAD_BYTES", "-1"), ("PHTA_API_DOCS", "maybe"),
                                             ("PHTA_SECURE_COOKIES", "on please")])
def test_a_malformed_value_names_the_setting(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings(tmp_path, env={name: value})
