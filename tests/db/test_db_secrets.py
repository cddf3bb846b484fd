"""A database password never reaches a log record, a printed line or an error message."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from serenity.cli import main
from serenity.exchange import phemex
from tests.venues import VenueServer, payload

SECRET = "s3cret-Pa55word"


@pytest.mark.postgres
def test_password_in_db_url_is_never_shown(
    pg_schema_url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sa.make_url(pg_schema_url).set(password=SECRET).render_as_string(hide_password=False)
    caplog.set_level(logging.DEBUG)
    routes = {phemex.PRODUCTS_PATH: payload("phemex", "products")}

    with VenueServer(routes) as server:
        codes = [
            main(["db", "upgrade", "--db-url", url]),
            main(
                ["refdata", "load", "--venue", "phemex", "--base-url", server.url, "--db-url", url]
            ),
            main(["refdata", "ls", "--db-url", url]),
            main(["db", "downgrade", "--revision", "base", "--yes", "--db-url", url]),
            main(["refdata", "ls", "--db-url", url]),  # fails: no schema
        ]
    out, err = capsys.readouterr()

    assert codes == [0, 0, 0, 0, 2]
    assert SECRET not in out and SECRET not in err
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert all(SECRET not in str(vars(record)) for record in caplog.records)
