"""An installed wheel (`pip install .`, as the container does) holds every Python package and
every file the server reads at run time, and building it warns about nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "server"
# Sources of files the wheel carries in compiled form, or not at all.
NOT_SHIPPED = {".pyc", ".po", ".pot"}


def test_every_directory_of_modules_is_a_package_setuptools_finds():
    found = set(find_packages(str(SERVER)))
    for init in SERVER.glob("balise/**/*.py"):
        folder = init.parent.relative_to(SERVER)
        if "migrations" in folder.parts:  # Alembic's scripts ship as package data
            continue
        assert ".".join(folder.parts) in found, (
            f"{folder} has no __init__.py: pip install . drops it"
        )


def build_wheel(tmp_path: Path) -> tuple[Path, str]:
    """Build from a copy of the checkout (no stale build/ or egg-info); the wheel and stderr."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", "build")
    shutil.copytree(SERVER, source / "server", ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    out = tmp_path / "dist"
    build = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [
            sys.executable,
            "-c",
            "import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])",
            str(out),
        ],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = out.glob("*.whl")
    return wheel, build.stderr


def test_the_wheel_ships_every_file_the_server_reads_and_builds_without_warnings(tmp_path):
    wheel, stderr = build_wheel(tmp_path)
    assert "Warning" not in stderr, stderr
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    checkout = {
        path.relative_to(SERVER).as_posix()
        for path in (SERVER / "balise").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in NOT_SHIPPED
    }
    assert not checkout - shipped, "missing from the wheel"
    for needed in (
        "balise/db/migrations/env.py",
        "balise/db/migrations/script.py.mako",
        "balise/db/migrations/versions/0001_initial_schema.py",
        "balise/web/templates/reader/reader.html",
        "balise/web/templates/dashboard/base.html",
        "balise/web/dashboard/static/dashboard.css",
        "balise/web/reader/assets/page.css",
        "balise/translations/fr/LC_MESSAGES/messages.mo",
        "balise/translations/en/LC_MESSAGES/messages.mo",
    ):
        assert needed in shipped, needed
