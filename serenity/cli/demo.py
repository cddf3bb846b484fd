"""``serenity demo``: the embedded default built end to end, with no network and no services.

The work is :func:`serenity.demo.run_demo`; this module checks the flags, keeps the library's
INFO log records out of the narrative (unless ``--verbose`` or ``--log-level=DEBUG``), and
imports the pipeline only when the command runs, so ``serenity --help`` stays quick.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from serenity.cli._args import OPTIONS, optional_text, switch
from serenity.cli._args import day as day_arg
from serenity.errors import InvalidValueError

__all__ = ["DEFAULT_DAY_TEXT", "DEFAULT_EVENTS", "demo", "run_demo"]

DEFAULT_DAY_TEXT: Final = "2024-01-02"
"""The generated day, as ``--day`` shows it in ``--help``."""
DEFAULT_EVENTS: Final = 150_000
"""Generated events across the products (``serenity.demo.DEFAULT_EVENTS``)."""

_QUIETED: Final = ("serenity", "alembic", "aiohttp")


def demo(
    home: str | None = None,
    day: str = DEFAULT_DAY_TEXT,
    events: int = DEFAULT_EVENTS,
    verbose: bool = False,
) -> None:
    """Build the embedded default end to end, with no network and no services.

    Migrates the SQLite database in the home folder and loads bundled Coinbase reference
    data; records a generated trading day of BTC-USD and ETH-USD, streamed by a local
    Coinbase, with the real feedhandler into a journal; splays the journal into a local
    tick store; replays the stored trades through five-minute bars and Bollinger bands
    (20, 2). The journal and tick store under ``HOME/demo`` are made afresh on each run;
    the database is reused.

    Parameters
    ----------
    home
        Serenity's home folder; default ``$SERENITY_HOME``, else ``~/.serenity``.
    day
        The UTC day to generate, ``YYYY-MM-DD``.
    events
        Generated events (trades and quote changes) across the two products.
    verbose
        Also show the library's INFO log records (on stderr).

    Examples
    --------
    serenity demo --events 20000 --home /tmp/serenity-demo
    """
    run_demo(quiet=OPTIONS.quiet, home=home, day=day, events=events, verbose=verbose)


def run_demo(
    *,
    quiet: bool = False,
    home: object = None,
    day: object = DEFAULT_DAY_TEXT,
    events: object = DEFAULT_EVENTS,
    verbose: object = False,
) -> None:
    """Check the flags as Fire passes them and run the demo, printing what it does.

    Raises
    ------
    InvalidValueError
        For a bad ``--day``, ``--events`` or ``--verbose``.
    ConfigError
        For a bad ``--home``, or when ``HOME/demo`` was not made by the demo.
    """
    folder = optional_text(home, flag="--home")
    if isinstance(events, bool) or not isinstance(events, int) or events < 100:
        raise InvalidValueError(f"--events must be a whole number >= 100, was {events!r}")
    shown = switch(verbose, flag="--verbose")
    when = day_arg(day, flag="--day")
    with _library_logs(shown=shown):  # before the imports: Alembic logs as it loads
        from serenity.demo import run_demo as run

        run(folder, day=when, events=events, quiet=quiet)


@contextmanager
def _library_logs(*, shown: bool) -> Iterator[None]:
    """Hide the library's records below WARNING for the block, unless shown or DEBUG is on.

    Shown (``--verbose``) lowers the root level to INFO for the block if it is above.
    """
    root = logging.getLogger()
    if shown:
        before = root.level
        root.setLevel(min(root.getEffectiveLevel(), logging.INFO))
        try:
            yield
        finally:
            root.setLevel(before)
        return
    if root.getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    loggers = [logging.getLogger(name) for name in _QUIETED]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(lg.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
