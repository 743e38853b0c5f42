"""An installed wheel (`pip install .`, as the container does) holds every Python package."""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages

SERVER = Path(__file__).resolve().parents[1] / "server"


def test_every_directory_of_modules_is_a_package_setuptools_finds():
    found = set(find_packages(str(SERVER)))
    for init in SERVER.glob("balise/**/*.py"):
        folder = init.parent.relative_to(SERVER)
        if "migrations" in folder.parts:  # Alembic's scripts ship as package data
            continue
        assert ".".join(folder.parts) in found, (
            f"{folder} has no __init__.py: pip install . drops it"
        )
