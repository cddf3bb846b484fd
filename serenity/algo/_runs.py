"""Helpers of every kind of run: its key, folder and ``run.json``, and the database it is
recorded in."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from serenity.errors import ConfigError, SerenityError
from serenity.tau import format_ns

log = logging.getLogger(__name__)

RUN_FILE: Final = "run.json"
"""The file in a run folder that says what the run was (its kind, window, data, versions)."""


def new_run_key() -> str:
    """Return a new run's key: its UTC start to the second and a random suffix."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def default_run_folder(strategy: str, run_key: str) -> Path:
    """Return ``$SERENITY_HOME/runs/<strategy>/<run key>``."""
    from serenity.db.settings import serenity_home

    return serenity_home() / "runs" / strategy / run_key


def write_run_file(folder: Path, run_file: Mapping[str, Any]) -> None:
    """Write (or rewrite) the run folder's :data:`RUN_FILE`."""
    (folder / RUN_FILE).write_text(json.dumps(run_file, indent=2) + "\n")


def check_window(start_ns: int, end_ns: int) -> None:
    """Refuse a run window that does not end after it starts.

    Raises
    ------
    ConfigError
        When ``end_ns`` is not after ``start_ns``.
    """
    if end_ns <= start_ns:
        raise ConfigError(
            f"--end must be after --start, was {format_ns(start_ns)} .. {format_ns(end_ns)}"
        )


def utc(ns: int) -> dt.datetime:
    """Return int ns since the epoch as an aware UTC datetime (microseconds)."""
    return dt.datetime.fromtimestamp(ns // 10**9, tz=dt.UTC).replace(
        microsecond=(ns % 10**9) // 1000
    )


def run_error(exc: BaseException) -> BaseException:
    """Return why a run failed: the one Serenity error a task group's failure holds, else
    ``exc`` itself."""
    if not isinstance(exc, BaseExceptionGroup):
        return exc
    matched, rest = exc.split(SerenityError)
    if matched is None or rest is not None:
        return exc
    leaf: BaseException = matched
    while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
        leaf = leaf.exceptions[0]
    return leaf if isinstance(leaf, SerenityError) else exc


def open_run_database(db_url: str | None, record: bool | None) -> Any:
    """Return an engine of the migrated database to record a run in, or None.

    ``record`` True requires the database (raising :class:`~serenity.errors.ConfigError`
    when it is not migrated to the newest revision), False skips it, None uses it when it
    exists and is migrated (a missing SQLite file is not created just to record a run).
    Blocking: call it from a worker thread in async code.
    """
    if record is False:
        return None
    from serenity.db.engine import create_engine_from_url, ensure_schema
    from serenity.db.settings import database_url

    url = database_url(db_url)
    if record is None and url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).expanduser()
        if not path.is_file():
            return None
    engine = create_engine_from_url(url)
    try:
        ensure_schema(engine)
        _check_head(url)
    except ConfigError as exc:
        engine.dispose()
        if record:
            raise
        log.warning("run.not_recorded", extra={"reason": str(exc)})
        return None
    return engine


def _check_head(url: str) -> None:
    """Refuse a database behind the newest schema: booking and run records need it."""
    from serenity.db import migrations
    from serenity.db.engine import redact_url

    current, head = migrations.current_revision(url), migrations.head_revision()
    if current != head:
        raise ConfigError(
            f"database {redact_url(url)} is at revision {current}, Serenity needs {head}; "
            "run `serenity db upgrade` to record runs in it"
        )


class RunRecord:
    """Record one run in ``strategy_run``: running, then completed or failed.

    Every method does nothing when there is no database (``engine`` None). Blocking: async
    code records through a :class:`RunRecorder`.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.run_id: int | None = None

    def start(self, **fields: Any) -> int | None:
        """Record the run as running (see :func:`~serenity.analytics.runs.start_run`)."""
        if self.engine is not None:
            from serenity.analytics.runs import start_run

            self.run_id = start_run(self.engine, **fields)
        return self.run_id

    def finish(self, statistics: Any) -> None:
        """Record the run as completed with its statistics."""
        if self.engine is not None and self.run_id is not None:
            from serenity.analytics.runs import finish_run

            finish_run(self.engine, self.run_id, statistics=statistics)

    def fail(self, error: str) -> None:
        """Record the run as failed with ``error``."""
        if self.engine is not None and self.run_id is not None:
            from serenity.analytics.runs import fail_run

            fail_run(self.engine, self.run_id, error=error)


class RunRecorder:
    """Record one run in ``strategy_run`` from async code, off the event loop (a
    :class:`RunRecord` run in worker threads), and close the database at the end.

    Every method does nothing when there is no database (``engine`` None).
    """

    def __init__(self, engine: Any) -> None:
        self.record = RunRecord(engine)

    @classmethod
    async def open(cls, db_url: str | None, record: bool | None) -> RunRecorder:
        """Return a recorder on the database :func:`open_run_database` chooses."""
        return cls(await asyncio.to_thread(open_run_database, db_url, record))

    async def start(self, **fields: Any) -> int | None:
        """Record the run as running (see :func:`~serenity.analytics.runs.start_run`)."""
        if self.record.engine is not None:
            await asyncio.to_thread(self.record.start, **fields)
        return self.record.run_id

    async def finish(self, statistics: Any) -> None:
        """Record the run as completed with its statistics, and close the database."""
        if self.record.engine is not None and self.record.run_id is not None:
            await asyncio.to_thread(self.record.finish, statistics)
        await self.close()

    async def fail(self, error: str) -> None:
        """Record the run as failed with ``error``, and close the database."""
        if self.record.engine is not None and self.record.run_id is not None:
            await asyncio.to_thread(self.record.fail, error)
        await self.close()

    async def close(self) -> None:
        """Release the database's connections."""
        if self.record.engine is not None:
            await asyncio.to_thread(self.record.engine.dispose)
            self.record.engine = None
