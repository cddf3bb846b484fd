"""Help pages for the ``serenity`` command: a usage line, the flags and an example.

Pages are built from the commands themselves: the signature gives the usage line, the NumPy
docstring gives the description (summary and body), one line per flag (its ``Parameters``
section) and the example (its ``Examples`` section, one command per line).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "CommandDoc",
    "command_doc",
    "command_help",
    "commands_of",
    "group_help",
    "summary",
    "table_rows",
]

_SECTION: Final = re.compile(r"^([A-Z][A-Za-z ]+)\n-{3,}\n", re.M)
_ROLE: Final = re.compile(r":[a-z:]+:`~?([^`]+)`")
_WIDTH: Final = 92


@dataclass(frozen=True, slots=True)
class CommandDoc:
    """A command's docstring, read into the parts a help page shows."""

    summary: str
    body: str
    params: dict[str, str] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)


def _plain(text: str) -> str:
    """Return docstring text without reST markup (double backticks, roles)."""
    return _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text).replace("``", "")


def command_doc(target: Any) -> CommandDoc:
    """Return the summary, body, parameter descriptions and examples of ``target``'s doc."""
    doc = inspect.cleandoc(inspect.getdoc(target) or "")
    parts = _SECTION.split(doc)
    head, sections = parts[0], dict(zip(parts[1::2], parts[2::2], strict=True))
    paragraphs = head.strip().split("\n\n", 1)
    summary = _plain(" ".join(paragraphs[0].split()))
    body = _plain(paragraphs[1].strip()) if len(paragraphs) > 1 else ""
    params: dict[str, str] = {}
    name = ""
    for line in sections.get("Parameters", "").splitlines():
        if line and not line.startswith(" "):
            name = line.split(":", 1)[0].strip()
            params[name] = ""
        elif name and line.strip():
            params[name] = (params[name] + " " + line.strip()).strip()
    example_text = textwrap.dedent(sections.get("Examples") or sections.get("Example") or "")
    examples = [line.rstrip() for line in example_text.splitlines() if line.strip()]
    return CommandDoc(summary, body, {k: _plain(v) for k, v in params.items()}, examples)


def summary(target: Any) -> str:
    """Return the first sentence line of ``target``'s docstring, without markup."""
    return command_doc(target).summary


def commands_of(group: object) -> dict[str, Callable[..., Any]]:
    """Return a group's commands: its public methods, by name."""
    return {
        name: member
        for name, member in inspect.getmembers(group, callable)
        if not name.startswith("_") and not inspect.isclass(member)
    }


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _metavar(name: str) -> str:
    """Return the placeholder of a flag's value: URL, DIR, YYYY-MM-DD, TIME or the name."""
    if name.endswith("url") or name in ("store", "from", "to"):
        return "URL"
    if name.endswith("_dir") or name in ("home", "root"):
        return "DIR"
    if name in ("date", "day"):
        return "YYYY-MM-DD"
    if name in ("start", "end", "as_of"):
        return "TIME"
    return name.upper()


def _usage(
    path: str, target: Callable[..., Any], doc: CommandDoc
) -> tuple[str, list[tuple[str, str]]]:
    """Return the usage line and the (flag text, description) rows of a command."""
    required: list[tuple[str, str]] = []
    optional: list[tuple[str, str]] = []
    words_required: list[str] = []
    words_optional: list[str] = []
    signature = inspect.signature(target)
    for param in signature.parameters.values():
        described = doc.params.get(param.name, "")
        if param.kind is param.VAR_KEYWORD:  # flags that are not Python names (``--from``)
            for name, text in doc.params.items():
                if name not in signature.parameters:
                    words_required.append(f"{_flag(name)} {_metavar(name)}")
                    required.append((f"{_flag(name)} {_metavar(name)}", text))
        elif param.kind is param.VAR_POSITIONAL:
            continue
        elif param.default is inspect.Parameter.empty:
            words_required.append(param.name.upper())
            required.append((param.name.upper(), described))
        elif param.default is False:
            words_optional.append(f"[{_flag(param.name)}]")
            optional.append((_flag(param.name), described))
        else:
            meta = f"{_flag(param.name)} {_metavar(param.name)}"
            words_optional.append(f"[{meta}]")
            if param.default is not None and "default" not in described.lower():
                described = f"{described} Default: {param.default}.".strip()
            optional.append((meta, described))
    usage = " ".join([f"usage: {path}", *words_required, *words_optional])
    return usage, required + optional


def usage_line(path: str, target: Callable[..., Any]) -> str:
    """Return the ``usage: ...`` line of a command."""
    return _usage(path, target, command_doc(target))[0]


def table_rows(pairs: Iterable[tuple[str, str]], indent: int = 2) -> list[str]:
    rows = list(pairs)
    width = min(max((len(left) for left, _ in rows), default=0), 28)
    lines = []
    for left, right in rows:
        pad = " " * indent
        if len(left) > width:
            lines.append(pad + left)
            left = ""
        wrapped = textwrap.wrap(right, _WIDTH - indent - width - 2, break_on_hyphens=False)
        wrapped = wrapped or [""]
        lines.append(f"{pad}{left.ljust(width)}  {wrapped[0]}".rstrip())
        lines += [f"{pad}{' ' * width}  {more}" for more in wrapped[1:]]
    return lines


def _paragraphs(text: str) -> list[str]:
    out: list[str] = []
    for para in text.split("\n\n"):
        if out:
            out.append("")
        out += textwrap.wrap(" ".join(para.split()), _WIDTH, break_on_hyphens=False)
    return out


def command_help(path: str, target: Callable[..., Any], *, global_flags: str) -> str:
    """Return the help page of one command: usage, description, flags, example."""
    doc = command_doc(target)
    usage, rows = _usage(path, target, doc)
    lines = textwrap.wrap(usage, _WIDTH, subsequent_indent=" " * (len(path) + 8))
    lines += ["", *_paragraphs(doc.summary)]
    if doc.body:
        lines += ["", *_paragraphs(doc.body)]
    if rows:
        lines += ["", "arguments and flags:", *table_rows(rows)]
    if doc.examples:
        commands = sum(1 for line in doc.examples if not line.startswith(" "))
        lines += ["", "example:" if commands == 1 else "examples:"]
        lines += [f"  {line}" for line in doc.examples]
    lines += ["", global_flags]
    return "\n".join(lines)


def group_help(path: str, group: object, *, global_flags: str) -> str:
    """Return the help page of a command group: usage, description, its commands."""
    doc = command_doc(type(group))
    commands = commands_of(group)
    lines = [f"usage: {path} <command> [flags]", "", *_paragraphs(doc.summary)]
    if doc.body:
        lines += ["", *_paragraphs(doc.body)]
    lines += [
        "",
        "commands:",
        *table_rows((name, summary(f)) for name, f in sorted(commands.items())),
    ]
    lines += ["", f"Run `{path} <command> --help` for a command's flags and an example."]
    lines += ["", global_flags]
    return "\n".join(lines)
