"""A built wheel, installed into a fresh virtualenv, migrates a database and runs the demo.

It is built twice: with the C compiler, so it carries the compiled core, and with a
compiler that always fails (``CC=false``), as on a machine without one: the build goes on
without the extensions and the installed package runs in pure Python.

The wheel is built from a copy of the sources (no build isolation, so no index is needed) and
installed with ``--no-deps --no-index`` into a new venv whose only link to this environment is
a ``.pth`` line naming this environment's site-packages, which supplies the dependencies. The
commands run from an empty folder, so nothing of the checkout (``alembic.ini``, the source
tree) is in reach: the migrations must come from the installed package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module", params=["compiled", "no-compiler"])
def wheel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build Serenity's wheel from a copy of the sources and return its path."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "serenity",
        src / "serenity",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "_native.c"),
    )
    dist = tmp_path_factory.mktemp("dist")
    env = dict(os.environ)
    if request.param == "no-compiler":
        env["CC"] = "false"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        dist,
        src,
        cwd=src,
        env=env,
    )
    (found,) = dist.glob("serenity-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the bin folder of a new venv with only the wheel installed (deps via .pth)."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(root)
    bin_dir = root / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root
    ).strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "serenity_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=root,
    )
    return bin_dir


@pytest.mark.slow
def test_wheel_install_migrates_and_runs_the_demo(
    fresh_venv: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SERENITY_DB_URL", "PYTHONPATH")}
    env |= {"SERENITY_HOME": str(tmp_path / "home"), "TQDM_DISABLE": "1"}
    serenity = fresh_venv / "serenity"
    code = "import serenity, serenity.tau; print(serenity.__file__, serenity.tau.NATIVE)"
    where, native = _run(fresh_venv / "python", "-c", code, cwd=tmp_path, env=env).split()
    db_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgraded = _run(serenity, "db", "upgrade", "--db-url", db_url, cwd=tmp_path, env=env)
    current = _run(serenity, "db", "current", "--db-url", db_url, cwd=tmp_path, env=env)
    demo = _run(serenity, "demo", "--events=1000", cwd=tmp_path, env=env)

    assert Path(where).is_relative_to(fresh_venv.parent)
    # The compiled wheel carries the compiled core; without a compiler, pure Python runs.
    assert native == str(request.node.callspec.params["wheel"] == "compiled")
    assert "is at revision" in upgraded and "(up to date)" in current
    assert "five-minute bars" in demo and (tmp_path / "home" / "serenity.db").is_file()
