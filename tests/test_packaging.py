"""What ``pip install .`` ships and pulls in: every module the product imports is a declared dependency
(the dev extras do not count: admins install without them), and the migrations travel as package data.

``.ci/smoke`` checks the same end to end, from a wheel in a fresh virtualenv.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
import tomllib
from datetime import UTC, datetime
from importlib.metadata import packages_distributions

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FIRST_PARTY = {"bot", "cogs"}
# Modules the product needs at run time that it never names in an import statement: trafilatura's
# jusText imports lxml.html.clean, whose code lives in lxml_html_clean since lxml 5.2, and the
# `lxml[html_clean]` extra jusText asks for is not one lxml provides (it spells it `html-clean`).
IMPORTED_INDIRECTLY = {"lxml_html_clean"}
NOW = datetime(2024, 5, 14, tzinfo=UTC)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    names = set()
    for requirement in PYPROJECT["project"]["dependencies"]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(_normalised(match.group(0)))
    return names


def product_imports() -> dict[str, set[str]]:
    """Top-level module name → the product files that import it (anywhere in the file, lazily too)."""
    found: dict[str, set[str]] = {}
    for folder in FIRST_PARTY:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.setdefault(module.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def third_party(modules: set[str]) -> set[str]:
    return {m for m in modules if m not in FIRST_PARTY and m not in sys.stdlib_module_names}


def test_every_module_the_product_imports_is_a_declared_dependency() -> None:
    imports = product_imports()
    needed = third_party(set(imports)) | IMPORTED_INDIRECTLY
    assert {"discord", "aiosqlite", "aiohttp", "yarl", "numpy", "trafilatura"} <= needed  # the walk finds them
    distributions = packages_distributions()
    declared = _declared()
    undeclared = {}
    for module in sorted(needed):
        providers = {_normalised(d) for d in distributions.get(module, [])}
        assert providers, f"{module} is imported by the product but is not installed at all"
        if not providers & declared:
            undeclared[module] = sorted(imports.get(module, {"(indirectly)"}))
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def test_the_migrations_are_package_data() -> None:
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]["bot.store.migrations"]
    scripts = sorted(p.name for p in (ROOT / "bot" / "store" / "migrations").glob("*.sql"))
    assert scripts
    for name in scripts:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in package_data), f"{name} would not be installed"


def test_the_indirect_imports_are_really_imported() -> None:
    """Keeps :data:`IMPORTED_INDIRECTLY` honest: reading an HTML page loads each of them."""
    from bot.ingest.readers import html_to_record

    html = "<html><body><article><p>" + "The harbour authority approved a new ferry terminal. " * 8
    html_to_record(html + "</p></article></body></html>", origin="x.html", file=None, url=None, fallback_time=NOW)
    assert set(sys.modules) >= IMPORTED_INDIRECTLY
