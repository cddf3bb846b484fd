"""Sphinx configuration for Serenity's docs (built with ``-W``: warnings are errors)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from serenity import __version__  # noqa: E402

project = "Serenity"
author = "Serenity developers"
copyright = "2026, Serenity developers"
release = version = __version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
nitpicky = False
html_theme = "alabaster"
suppress_warnings = ["ref.python"]
