"""The example in docs/marketdata.rst runs and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "marketdata.rst"


def test_marketdata_doc_example_runs_and_prints_its_comments() -> None:
    text = DOC.read_text()
    block = text.split("Example\n-------\n", 1)[1].split(".. code-block:: python\n", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith("   "):
            break
        lines.append(line)
    code = textwrap.dedent("\n".join(lines))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})
    expected = [m.group(1).strip() for m in re.finditer(r"print\(.*\)\s+# (.*)", code)]
    assert out.getvalue().splitlines() == expected
