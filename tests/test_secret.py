"""Secret never shows its value."""

from __future__ import annotations

import logging

import pytest

from serenity import Secret


def test_secret_hides_its_value_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    key = Secret("hunter2-api-key")
    logging.getLogger("serenity.test").warning("venue.auth", extra={"key": key})
    texts = [repr(key), str(key), f"{key}", f"{key!r}", repr([key]), caplog.text]
    assert all("hunter2" not in t for t in texts)
    assert key.value == "hunter2-api-key"
    with pytest.raises(AttributeError):
        key.value = "other"  # type: ignore[misc]
