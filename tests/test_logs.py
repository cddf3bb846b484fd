"""The CLI's log formats: one record per line, control characters escaped, credentials hidden."""

from __future__ import annotations

import logging
import sys

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.logs import JsonFormatter, KeyValueFormatter
from serenity.secret import redact

FORGED = '{"e": 1}\n2024-01-02T00:00:00.000+00:00 ERROR serenity.fh forged.record venue=x'


def _record(msg: str, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad frame {FORGED}")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("serenity.fh", logging.WARNING, __file__, 1, msg, None, exc_info)
    record.__dict__.update(extra)
    return record


def test_a_logged_frame_cannot_forge_a_second_record() -> None:
    line = KeyValueFormatter().format(_record("fh.parse_error\r\nx", frame=FORGED, n=3))

    assert len(line.splitlines()) == 1
    assert "\\n2024-01-02T00:00:00.000+00:00 ERROR" in line and "fh.parse_error\\r\\nx" in line
    assert line.endswith(" n=3")


def test_traceback_lines_are_indented_and_escaped() -> None:
    lines = KeyValueFormatter().format(_record("fh.parse_error", exc=True)).splitlines()

    assert lines[0].split()[1:4] == ["WARNING", "serenity.fh", "fh.parse_error"]
    assert all(line.startswith("    ") for line in lines[1:])
    assert not any("forged.record" in line and not line.startswith("    ") for line in lines)


@given(st.text(max_size=40), st.text(max_size=40))
def test_any_value_stays_on_one_line(event: str, value: str) -> None:
    line = KeyValueFormatter().format(_record(event, v=value))

    assert "\n" not in line and "\r" not in line
    assert len(line.splitlines()) <= 1


@pytest.mark.parametrize("formatter", [KeyValueFormatter(), JsonFormatter()])
def test_credentials_are_hidden_in_both_formats(formatter: logging.Formatter) -> None:
    record = _record(
        '%s://%s:%s "%s %s %s" %s %s',
        url="postgresql+psycopg2://me:hunter2@db:5432/x",
        conn="BlobEndpoint=http://h/a;SharedAccessSignature=sv=2024&sig=S1GN%2F;",
    )
    record.args = ("http", "h", 80, "GET", "/c?comp=list&sig=S1GN%2F", "HTTP/1.1", 200, 9)
    text = formatter.format(record)

    assert "hunter2" not in text and "S1GN" not in text
    assert "me:***@db" in text and "sig=***" in text
    if isinstance(formatter, JsonFormatter):
        assert orjson.loads(text)["level"] == "WARNING"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("postgresql://u:p@ss@h:notaport/db", "p@ss"),
        ("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=K3y==;", "K3y"),
        ("https://a.blob.core.windows.net/c?sv=1&se=2&sig=abc%3D", "abc"),
        ("sqlite:///x.db?password=pw0rd", "pw0rd"),
    ],
)
def test_redact_hides_each_kind_of_credential(text: str, hidden: str) -> None:
    assert hidden not in redact(text) and "***" in redact(text)


def test_redact_leaves_plain_urls_alone() -> None:
    plain = "file:///data/ticks http://127.0.0.1:8080/api?symbol=BTC sqlite:////tmp/x.db"
    assert redact(plain) == plain
