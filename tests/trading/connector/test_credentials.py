"""API credentials: the environment or a file outside the repository; never shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from serenity.errors import ConfigError
from serenity.trading.connector import Credentials

SECRET = "s3cr3t-value-that-must-not-leak"


def test_the_instance_variables_win_over_the_venue_ones() -> None:
    env = {
        "SERENITY_BINANCE_API_KEY": "prod-key",
        "SERENITY_BINANCE_API_SECRET": "prod-secret",
        "SERENITY_BINANCE_TESTNET_API_KEY": "test-key",
        "SERENITY_BINANCE_TESTNET_API_SECRET": SECRET,
    }
    creds = Credentials.load("binance", instance="testnet", environ=env)
    assert (creds.api_key.value, creds.secret.value) == ("test-key", SECRET)
    assert creds.source == "environment SERENITY_BINANCE_TESTNET_*"
    prod = Credentials.load("binance", instance="prod", environ=env)
    assert prod.api_key.value == "prod-key" and prod.passphrase is None


def test_a_file_outside_the_repository(tmp_path: Path) -> None:
    path = tmp_path / "coinbase.yaml"
    path.write_text(f"api_key: k\napi_secret: {SECRET}\napi_passphrase: p\n")
    path.chmod(0o600)
    env = {"SERENITY_COINBASE_CREDENTIALS": str(path)}
    creds = Credentials.load("coinbase", instance="sandbox", environ=env, needs_passphrase=True)
    assert creds.passphrase is not None and creds.passphrase.value == "p"
    inside = tmp_path / "repo"
    (inside / ".git").mkdir(parents=True)
    (inside / "keys.json").write_text('{"api_key": "k", "api_secret": "s"}')
    with pytest.raises(ConfigError, match="inside the git work tree"):
        Credentials.load("binance", path=inside / "keys.json", environ={})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "binance: no API credentials; set SERENITY_BINANCE_TESTNET_API_KEY and"),
        (
            {"SERENITY_BINANCE_API_KEY": "k"},
            "binance: incomplete API credentials in environment SERENITY_BINANCE_\\*: "
            "SERENITY_BINANCE_API_SECRET is missing or empty",
        ),
        ({"SERENITY_BINANCE_CREDENTIALS": "/nonexistent/keys"}, "does not exist"),
    ],
)
def test_missing_credentials_are_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Credentials.load("binance", instance="testnet", environ=env)


def test_secrets_stay_out_of_reprs_logs_and_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    creds = Credentials.load(
        "binance",
        environ={"SERENITY_BINANCE_API_KEY": SECRET, "SERENITY_BINANCE_API_SECRET": SECRET},
    )
    loose = tmp_path / "keys.yaml"
    loose.write_text(f"api_key: {SECRET}\napi_secret: ''\n")
    loose.chmod(0o644)  # readable by others: a warning
    with pytest.raises(ConfigError) as incomplete:
        Credentials.load("binance", path=loose, environ={})
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"api_key: [{SECRET}\n")
    with pytest.raises(ConfigError) as malformed:
        Credentials.load("binance", path=broken, environ={})
    texts = [repr(creds), str(creds), str(incomplete.value), str(malformed.value)]
    texts += [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    assert any("credentials.file_permissions" in r.getMessage() for r in caplog.records)
    assert all(SECRET not in text for text in texts)
