"""Credentials never reach the terminal: failing commands at DEBUG, in text and JSON logs.

Each command runs through the console script's entry point with ``--log-level DEBUG``, so
urllib3's and the Azure SDK's own records are on; the Azure
connection string carries a SAS whose ``sig=`` is known, the database URLs a known password.
Neither may appear anywhere in stdout or stderr.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from serenity.cli import main
from serenity.marketdata.tickstore import AZURE_ENV

PASSWORD = "Pa55-w0rd-that-must-not-show"


def _serenity(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, **env: str
) -> tuple[int, str]:
    """Run the CLI in-process as the console script does; return its code and all output."""
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code = main(list(args))
    out = capfd.readouterr()
    return code, out.out + out.err


def _parts(conn: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in conn.split(";") if "=" in p)


def _sas_connection(azure_conn: str, *, valid: bool) -> tuple[str, str]:
    """Return a SAS connection string for the Azurite account, and its signature."""
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    parts = _parts(azure_conn)
    sas = generate_account_sas(
        parts["AccountName"],
        parts["AccountKey"],
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, list=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    query = dict(p.split("=", 1) for p in sas.split("&"))
    if not valid:
        query["sig"] = "Zm9yZ2VkLXNpZ25hdHVyZS1mb3ItdGhlLXRlc3Q%3D"
    sas = "&".join(f"{k}={v}" for k, v in query.items())
    return f"BlobEndpoint={parts['BlobEndpoint']};SharedAccessSignature={sas}", query["sig"]


@pytest.mark.azure
def test_sas_signatures_and_keys_never_show(
    azure_conn: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    valid, valid_sig = _sas_connection(azure_conn, valid=True)
    forged, forged_sig = _sas_connection(azure_conn, valid=False)
    account_key = _parts(azure_conn)["AccountKey"]
    name = f"s{uuid.uuid4().hex[:20]}"
    container = f"azure://{name}"
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azure_conn)
    service.create_container(name)  # an empty store: listing it succeeds
    show = ["tickstore", "show", container, "NOPE_TRADES", "BTC-USD"]
    show += ["--start", "2024-01-02", "--end", "2024-01-03"]
    runs = [
        (valid, ["tickstore", "ls", container]),
        (valid, ["--log-json", *show]),
        (forged, ["tickstore", "ls", container]),
        (forged, ["--log-json", *show]),
        (azure_conn, show),
    ]

    try:
        results = [
            _serenity(capfd, monkeypatch, "--log-level", "DEBUG", *args, **{AZURE_ENV: conn})
            for conn, args in runs
        ]
    finally:
        service.delete_container(name)

    assert [code for code, _ in results] == [0, 2, 2, 2, 2]
    for _, text in results:
        assert valid_sig not in text and forged_sig not in text and account_key not in text
    debug = results[0][1]
    assert "urllib3" in debug and "sig=***" in debug  # the requests were logged, redacted


def test_database_passwords_never_show(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = f"postgresql+psycopg2://serenity:{PASSWORD}@127.0.0.1:1/nowhere"
    env_url = f"postgres://serenity:{PASSWORD}@127.0.0.1:1/x"
    runs: list[tuple[dict[str, str], list[str]]] = [
        ({}, ["db", "upgrade", "--db-url", refused]),
        ({}, ["--log-json", "db", "upgrade", "--db-url", refused]),
        ({}, ["db", "current", "--db-url", f"postgresql://serenity:{PASSWORD}@db:notaport/x"]),
        ({"SERENITY_DB_URL": env_url}, ["--log-json", "refdata", "ls"]),
        ({}, ["refdata", "ls", "--db-url", f"mysql+nodriver://u:{PASSWORD}@h/x"]),
        ({}, ["db", "current", "--db-url", f"postgresql://u:{PASSWORD}@h:5432/x?port=x y"]),
        ({}, ["db", "upgrade", "--db-url", f"{PASSWORD}@db.example.com/x"]),
    ]

    results = [
        _serenity(capfd, monkeypatch, "--log-level", "DEBUG", *args, **env) for env, args in runs
    ]

    for code, text in results:
        assert code == 2, text
        assert PASSWORD not in text and "Traceback" not in text
        assert text.strip().splitlines()[-1].startswith("serenity: ")
    assert "has a port that is not a number" in results[2][1]
