"""The ``serenity`` console script: one command group per package.

A command group is a class in ``serenity/cli/<group>.py`` whose public methods are its
commands (``serenity db upgrade``); a root command is a function (``serenity demo``). Adding
either is one line in :data:`COMMANDS`. Modules are imported only when their command runs (or
its help is asked for), so ``serenity --help`` stays quick.

:func:`main` reads the global flags (``--log-level``, ``--log-json``, ``--quiet``,
``--version``, ``--help``) wherever they are on the line, writes the help pages itself, and hands
the command and its own flags to Fire. A :class:`~serenity.SerenityError` becomes one line on
stderr (credentials hidden) and exit code 2; a reader that stops early (``| head``) ends the
output quietly.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any, Final

from serenity._version import __version__
from serenity.cli._args import OPTIONS, GlobalOptions, merge_repeated, split_global_flags
from serenity.errors import ConfigError, SerenityError

__all__ = ["COMMANDS", "main", "version"]

COMMANDS: Final[dict[str, str]] = {
    # name: "module:attribute" -- a class is a command group, a function a root command.
    "algo": "serenity.cli.algo:AlgoCommands",
    "backtest": "serenity.cli.backtest:BacktestCommands",
    "db": "serenity.cli.db:Db",
    "demo": "serenity.cli.demo:demo",
    "invest": "serenity.cli.invest:InvestCommands",
    "journal": "serenity.cli.journal:JournalCommands",
    "marketdata": "serenity.cli.marketdata:MarketdataCommands",
    "refdata": "serenity.cli.refdata:Refdata",
    "runs": "serenity.cli.runs:RunsCommands",
    "sweep": "serenity.cli.sweep:SweepCommands",
    "tax": "serenity.cli.tax:Tax",
    "tickstore": "serenity.cli.tickstore:TickstoreCommands",
    "version": "serenity.cli:version",
}
"""Every command of the root, in ``serenity --help`` order (alphabetical)."""

_ABOUT: Final = "Record, store, backtest and trade crypto markets."
GLOBAL_FLAGS: Final = """global flags (before or after the command):
  --log-level LEVEL  DEBUG, INFO, WARNING (the default) or ERROR; DEBUG adds libraries' records
  --log-json         write log records as JSON lines instead of key=value text
  --quiet            hide progress bars
  --version          print Serenity's version
  -h, --help         show help: `serenity <command> [<subcommand>] --help`"""
GLOBAL_FLAGS_SHORT: Final = (
    "global flags, before or after the command: --log-level LEVEL, --log-json, --quiet "
    "(see `serenity --help`)"
)
_EXAMPLE: Final = """examples:
  serenity demo                                  # the whole pipeline, offline, in ~/.serenity
  serenity tickstore ls file://$HOME/.serenity/demo/ticks
  serenity db upgrade --db-url postgresql://me@localhost/serenity"""


def version() -> None:
    """Print Serenity's version.

    Examples
    --------
    serenity version
    """
    print(__version__)


def _load(name: str) -> Any:
    module, _, attribute = COMMANDS[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def _unknown(what: str, name: str, choices: list[str]) -> ConfigError:
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return ConfigError(f"unknown {what} {name!r}; {hint}choose one of {', '.join(choices)}")


def _root_help() -> str:
    from serenity.cli._help import summary, table_rows

    rows = [(name, summary(_load(name))) for name in COMMANDS]
    lines = ["usage: serenity [global flags] <command> [<subcommand>] [flags]", "", _ABOUT, ""]
    lines += ["commands:", *table_rows(rows), "", GLOBAL_FLAGS, "", _EXAMPLE]
    return "\n".join(lines)


def _resolve(words: list[str]) -> tuple[str, Any, list[str]]:
    """Return the command path, what runs it (a function or a group), and its own args.

    Raises
    ------
    ConfigError
        For an unknown command or subcommand, naming the choices.
    """
    from serenity.cli._help import commands_of

    name = words[0]
    if name not in COMMANDS:
        raise _unknown("command", name, list(COMMANDS))
    target = _load(name)
    if not inspect.isclass(target):
        return f"serenity {name}", target, words[1:]
    group = target()
    commands = commands_of(group)
    if len(words) < 2 or words[1].startswith("-"):
        return f"serenity {name}", group, words[1:]
    if words[1] not in commands:
        raise _unknown(f"{name} command", words[1], sorted(commands))
    return f"serenity {name} {words[1]}", commands[words[1]], words[2:]


def _check_args(path: str, target: Callable[..., Any], args: list[str]) -> None:
    """Refuse unknown flags, missing arguments and extra ones, naming what the command takes.

    Fire would say so too, but in several lines about its own internals; this reads the
    arguments as Fire will: ``--name value``, ``--name=value``, a bare ``--name`` for a
    boolean flag, and the rest positional, filling the arguments not given by name in order.
    """
    from serenity.cli._help import usage_line

    command = path.removeprefix("serenity ")
    params = {
        n: p
        for n, p in inspect.signature(target).parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    open_ended = len(params) < len(inspect.signature(target).parameters)
    named: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(args) and args[i] != "--":
        arg = args[i]
        if arg.startswith("--") and len(arg) > 2:
            name = arg[2:].split("=", 1)[0].replace("-", "_")
            if name not in params and name.removeprefix("no") in params:
                name = name.removeprefix("no")
            elif name not in params and not open_ended:
                flags = ", ".join("--" + n.replace("_", "-") for n in params) or "none"
                raise ConfigError(f"`{command}` has no flag {arg.split('=', 1)[0]}; flags: {flags}")
            named.add(name)
            takes_value = "=" not in arg and params.get(name, None) is not None
            if takes_value and not isinstance(params[name].default, bool):
                if i + 1 < len(args) and not args[i + 1].startswith("--"):
                    i += 1
        else:
            positional.append(arg)
        i += 1
    if open_ended:
        return
    unnamed = [n for n in params if n not in named]
    if len(positional) > len(unnamed):
        extra = " ".join(positional[len(unnamed) :])
        raise ConfigError(
            f"`{command}` was given more arguments than it takes: {extra!r}; "
            f"{usage_line(path, target)}"
        )
    missing = [
        n.upper()
        for n in unnamed[len(positional) :]
        if params[n].default is inspect.Parameter.empty
    ]
    if missing:
        raise ConfigError(f"`{command}` needs {' '.join(missing)}; {usage_line(path, target)}")


def _run(options: GlobalOptions, words: list[str]) -> int:
    from serenity.logs import cli_logging

    with cli_logging(options.log_level, json=options.log_json):
        return _dispatch(options, words)


def _dispatch(options: GlobalOptions, words: list[str]) -> int:
    from serenity.cli._help import command_help, group_help

    if options.version:
        print(__version__)
        return 0
    if not words or (options.help and words[0].startswith("-")):
        print(_root_help())
        return 0
    path, target, args = _resolve(words)
    is_group = not (inspect.isfunction(target) or inspect.ismethod(target))
    if options.help or (is_group and not args):
        page = (
            group_help(path, target, global_flags=GLOBAL_FLAGS_SHORT)
            if is_group
            else command_help(path, target, global_flags=GLOBAL_FLAGS_SHORT)
        )
        print(page)
        return 0
    if is_group:
        raise ConfigError(f"{path} needs a command first; see `{path} --help`")
    args = merge_repeated(args, getattr(target, "repeatable_flags", ()))
    _check_args(path, target, args)
    import fire

    try:
        fire.Fire(target, command=args, name=path)
    except fire.core.FireExit as exc:
        return int(exc.code or 0)
    return 0


def _error_lines(exc: BaseException) -> list[str] | None:
    """Return one line per error for a SerenityError or a group of them, else None (a bug)."""
    from serenity.secret import redact

    if isinstance(exc, SerenityError):
        return [f"serenity: {redact(str(exc))}"]
    if isinstance(exc, BaseExceptionGroup):
        lines = [_error_lines(inner) for inner in exc.exceptions]
        if all(line is not None for line in lines):
            return [line for group in lines if group for line in group]
    return None


def _stdout_closed() -> int:
    """Send what is left for stdout nowhere (its reader, e.g. ``head``, has gone) and succeed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code.

    0 on success, 2 for a :class:`~serenity.SerenityError` (one line on stderr, credentials
    hidden) or a command line Fire could not use; other exceptions are bugs and keep their
    traceback.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        options, words = split_global_flags(args)
        OPTIONS.quiet = options.quiet
        code = _run(options, words)
        sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_closed()
    except KeyboardInterrupt:
        print("serenity: interrupted", file=sys.stderr)
        return 130
    except BaseException as exc:
        lines = _error_lines(exc)
        if lines is None:
            raise
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_closed()
        print("\n".join(lines), file=sys.stderr)
        return 2
    return code
