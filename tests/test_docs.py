"""The README's and the docs' Python examples run and print what they say."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _examples() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for match in re.finditer(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S):
        found.append(("README.md", match.group(1)))
    for page in sorted((ROOT / "docs").glob("*.rst")):
        text = page.read_text()
        for match in re.finditer(r"\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text):
            code = "\n".join(line[3:] for line in match.group(1).splitlines())
            found.append((page.name, code))
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_runs_and_prints_what_it_says(where: str, code: str) -> None:
    out = io.StringIO()
    module = types.ModuleType("__example__")  # dataclasses in examples need a real module
    sys.modules[module.__name__] = module
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, where, "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    for expected in re.findall(r"^print\(.*\)\s+# (\S+)", code, re.M):
        assert expected.rstrip(":") in out.getvalue(), f"{where}: expected {expected}"


def test_examples_were_found() -> None:
    assert any(w == "README.md" for w, _ in EXAMPLES)
    assert any(w == "tau.rst" for w, _ in EXAMPLES)
