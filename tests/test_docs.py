"""The README's and the docs' Python examples run and print what they say.

The blocks of one page run in order in one namespace, as the cells of a notebook do
(``docs/research.rst`` is written as one).
"""

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
    """Return (page, code) with each page's blocks joined in order, one entry per page."""
    found: list[tuple[str, str]] = []
    readme = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    found += [("README.md", code) for code in readme]
    for page in sorted((ROOT / "docs").glob("*.rst")):
        text = page.read_text()
        blocks = [
            "\n".join(line[3:] for line in match.group(1).splitlines())
            for match in re.finditer(r"\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", text)
        ]
        if blocks:
            found.append((page.name, "\n".join(blocks)))
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
        if "matplotlib.pyplot" in sys.modules:  # research.rst plots; close its figures
            sys.modules["matplotlib.pyplot"].close("all")
    for expected in re.findall(r"^print\(.*\)\s+# (\S+)", code, re.M):
        assert expected.rstrip(":") in out.getvalue(), f"{where}: expected {expected}"


def test_examples_were_found() -> None:
    assert any(w == "README.md" for w, _ in EXAMPLES)
    assert any(w == "tau.rst" for w, _ in EXAMPLES)
    assert any(w == "research.rst" and "collect(" in code for w, code in EXAMPLES)


def test_the_api_page_documents_the_research_entry_points() -> None:
    api = (ROOT / "docs" / "api.rst").read_text()
    for module in (
        "serenity.marketdata.historic",
        "serenity.signal.frame",
        "serenity.db.migrations",
    ):
        assert f".. automodule:: {module}\n" in api
