"""Imports flow one way: app → surveys → scoring (enums only); scoring imports only numpy/scipy."""
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)


def imported_modules(package: str):
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.module.split(".")[0]


def test_scoring_imports_only_numpy_scipy_and_stdlib():
    allowed = STDLIB | {"numpy", "scipy", "scoring"}
    bad = [(p.name, m) for p, m in imported_modules("scoring") if m not in allowed]
    assert bad == []


def test_surveys_do_not_import_the_web_layer():
    forbidden = {"app", "flask", "flask_sqlalchemy", "sqlalchemy", "flask_login", "flask_babel"}
    if not (ROOT / "surveys").exists():
        return
    bad = [(p.name, m) for p, m in imported_modules("surveys") if m in forbidden]
    assert bad == []
