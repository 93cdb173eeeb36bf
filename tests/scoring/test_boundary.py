"""scoring/ imports only the standard library, numpy and scipy (DESIGN.md contract)."""
import ast
import sys
from pathlib import Path

import scoring

ALLOWED_THIRD_PARTY = {"numpy", "scipy"}
PACKAGE_DIR = Path(scoring.__file__).resolve().parent


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, node.module or "", node.level


def test_scoring_imports_only_stdlib_numpy_scipy():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    bad = []
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert files
    for path in files:
        for lineno, module, level in _imports(path):
            if level > 0:
                continue  # relative import inside scoring/ itself
            top = module.split(".")[0]
            if top == "scoring":
                continue
            if top not in stdlib and top not in ALLOWED_THIRD_PARTY:
                bad.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{lineno} imports {module}")
    assert not bad, "\n".join(bad)


def test_relative_imports_stay_inside_scoring():
    for path in PACKAGE_DIR.rglob("*.py"):
        depth = len(path.relative_to(PACKAGE_DIR).parts) - 1
        for lineno, _module, level in _imports(path):
            assert level <= depth + 1, f"{path}:{lineno} climbs out of scoring/"


def test_public_api_names():
    for name in ("RaterGroup", "RatingSet", "FeedbackConfig", "score_feedback", "FeedbackScores",
                 "ResidentSet", "ResidentConfig", "score_residents", "ResidentScores",
                 "Channel", "icc_oneway", "icc_oneway_long", "cronbach_alpha"):
        assert hasattr(scoring, name), name
    assert [int(g) for g in scoring.RaterGroup] == [0, 1, 2, 3]
    assert scoring.RaterGroup.SELF == 0 and scoring.RaterGroup.SUBORDINATE == 3
    assert scoring.Channel.LINK == 0 and scoring.Channel.WINDOW == 1
