"""The package's shape: feature packages, the web layer by surface, no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "server" / "balise"
DOMAIN = ("links", "analytics", "summaries", "accounts", "db")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Every balise module that `path` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in known}


def test_no_import_circles_except_a_package_registering_its_modules():
    known = modules()
    graph = {name: imports_of(path, known) for name, path in known.items()}
    # A package __init__ importing its own modules (blueprint registration) is not a circle.
    for name, path in known.items():
        if path.name == "__init__.py":
            graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    circles: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in trail:
                circles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*trail, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    assert circles == []


def test_domain_packages_know_nothing_of_flask():
    for name, path in modules().items():
        if name.split(".")[1:2] and name.split(".")[1] in DOMAIN:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    assert not (node.module or "").startswith(("flask", "balise.web")), name
                elif isinstance(node, ast.Import):
                    assert not any(a.name.startswith("flask") for a in node.names), name


def test_top_levels_stay_small_and_names_carry_no_package_prefix():
    for folder in (PACKAGE, PACKAGE / "web"):
        entries = [p for p in folder.iterdir() if p.name != "__pycache__"]
        assert len(entries) <= 14, sorted(p.name for p in entries)
    for path in PACKAGE.rglob("*.py"):
        package = path.parent.name
        assert not path.stem.startswith(package + "_"), path
        assert not path.stem.startswith(("api_", "dashboard_", "schemas_", "cli_")), path
