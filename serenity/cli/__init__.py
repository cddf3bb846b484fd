"""The ``serenity`` console script: one Fire command group per package."""

from __future__ import annotations

import sys

import fire

from serenity._version import __version__
from serenity.cli.algo import AlgoCommands
from serenity.cli.db import Db
from serenity.cli.demo import DEFAULT_DAY_TEXT, DEFAULT_EVENTS, run_demo
from serenity.cli.journal import JournalCommands
from serenity.cli.marketdata import MarketdataCommands
from serenity.cli.refdata import Refdata
from serenity.cli.runs import RunsCommands
from serenity.cli.tax import Tax
from serenity.cli.tickstore import TickstoreCommands
from serenity.errors import SerenityError
from serenity.logs import configure_logging

__all__ = ["Serenity", "main"]


class Serenity:
    """Record, store, backtest and trade crypto markets.

    Parameters
    ----------
    log_level
        DEBUG, INFO, WARNING or ERROR.
    log_json
        Write log records as JSON lines instead of ``key=value`` text.
    quiet
        Hide progress bars.
    """

    def __init__(self, log_level: str = "INFO", log_json: bool = False, quiet: bool = False):
        configure_logging(str(log_level), json=bool(log_json))
        self._quiet = bool(quiet)
        self.journal = JournalCommands()
        self.marketdata = MarketdataCommands()
        self.db = Db()
        self.refdata = Refdata()
        self.tickstore = TickstoreCommands(quiet=self._quiet)
        self.tax = Tax()
        self.runs = RunsCommands()
        self.algo = AlgoCommands()

    def version(self) -> None:
        """Print Serenity's version."""
        print(__version__)

    def demo(
        self,
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
        """
        run_demo(quiet=self._quiet, home=home, day=day, events=events, verbose=verbose)


def _root_help() -> str:
    """Return the root help: the command groups (Fire shows them only for an instance) and
    the root flags (Fire shows them only for the class)."""
    from fire import helptext, trace

    commands: str = helptext.HelpText(
        Serenity(), trace=trace.FireTrace(Serenity(), name="serenity")
    )
    flags: str = helptext.HelpText(Serenity, trace=trace.FireTrace(Serenity, name="serenity"))
    start = flags.find("FLAGS")
    return commands.rstrip() + ("\n\n" + flags[start:] if start >= 0 else "")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a :class:`SerenityError` becomes one line on stderr and exit code 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[-1] == "-h":
        args[-1] = "--help"  # Fire would read -h as a flag starting with h, e.g. demo --home
    if args and args[-1] in ("--help", "-h") and all(a.startswith("-") for a in args):
        print(_root_help())
        return 0
    try:
        fire.Fire(Serenity, command=args, name="serenity")
    except SerenityError as exc:
        print(f"serenity: {exc}", file=sys.stderr)
        return 2
    except fire.core.FireExit as exc:
        return int(exc.code or 0)
    return 0
