"""Build the optional compiled core (Cython); metadata lives in pyproject.toml.

The extensions are optional: where Cython or a C compiler is missing, or a build fails, the
package installs without them and runs its pure-Python definitions (``serenity.tau.NATIVE``
says which). ``SERENITY_PURE_PYTHON_BUILD=1`` skips them on purpose.
"""

from __future__ import annotations

import os

from setuptools import Extension, setup

_SOURCES = {
    "serenity.tau._native": "serenity/tau/_native.pyx",
    "serenity.signal.bars._native": "serenity/signal/bars/_native.pyx",
}


def _extensions() -> list[Extension]:
    if os.environ.get("SERENITY_PURE_PYTHON_BUILD", "").strip().lower() in {"1", "true", "yes"}:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("serenity: Cython is not installed; installing the pure-Python core only")
        return []
    # -ffp-contract=off: no fused multiply-add, so sums are the same floats as in Python.
    flags = ["-O2", "-ffp-contract=off"]
    extensions = [
        Extension(name, [path], extra_compile_args=flags) for name, path in _SOURCES.items()
    ]
    try:
        built = list(cythonize(extensions, language_level=3, quiet=True))
    except Exception as exc:  # a Cython error: still install, in pure Python
        print(f"serenity: the compiled core was not generated ({exc}); pure Python only")
        return []
    for ext in built:
        ext.optional = True  # a failed compile (no compiler) installs without it
    return built


setup(ext_modules=_extensions())
