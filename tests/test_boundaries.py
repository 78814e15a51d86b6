"""The dependency rules: the core and model/ never import Qt, nothing imports upward, and the app never imports research tooling."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BLOCK_QT = """
import importlib.abc, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {'PySide6', 'PyQt5', 'PyQt6', 'shiboken6', 'superqt', 'qtpy'}:
            raise ImportError('Qt is blocked in this test: ' + name)
sys.meta_path.insert(0, BlockQt())
"""


@pytest.mark.parametrize(
    "module",
    [
        "denoiser_app.core.engine",
        "denoiser_app.core.batch",
        "denoiser_app.core.imageio",
        "denoiser_app.core.noise_level",
        "denoiser_app.cli",
        "model.train",
        "model.export",
        "model.evaluate",
    ],
)
def test_imports_with_qt_blocked(module: str) -> None:
    code = BLOCK_QT + f"import {module}\nprint('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


LAYERS = {
    # package folder: module prefixes it must not import
    "denoiser_app/core": ("denoiser_app.gui", "denoiser_app.cli", "denoiser_app.self_test", "model", "PySide6", "superqt"),
    "model": ("denoiser_app.gui", "denoiser_app.cli", "denoiser_app.self_test", "PySide6", "superqt"),
    # The entry points (cli, __main__, self_test) sit above the window, which never calls back up to them.
    "denoiser_app/gui": ("denoiser_app.cli", "denoiser_app.self_test", "denoiser_app.__main__"),
}


@pytest.mark.parametrize("folder", sorted(LAYERS))
def test_no_upward_imports(folder: str) -> None:
    forbidden = LAYERS[folder]
    offenders = []
    for path in (ROOT / folder).rglob("*.py"):
        for name in _imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders


def _model_modules_reached_by_the_app() -> set[str]:
    """Every ``model.*`` module the app's code imports, directly or through other model modules, lazily or not."""
    reached: set[str] = set()
    to_visit = list((ROOT / "denoiser_app").rglob("*.py"))
    while to_visit:
        for name in _imported_modules(to_visit.pop()):
            if not name.startswith("model.") or name in reached:
                continue
            reached.add(name)
            module = ROOT / Path(*name.split("."))
            for candidate in (module.with_suffix(".py"), module / "__init__.py"):
                if candidate.is_file():
                    to_visit.append(candidate)
    return reached


def test_the_app_never_imports_the_research_tooling_and_the_frozen_app_leaves_it_out() -> None:
    from model import RESEARCH_MODULES

    reached = _model_modules_reached_by_the_app()
    assert "model.train" in reached and "model.archs" in reached, "the walk follows the app's imports"
    research = {f"model.{name}" for name in RESEARCH_MODULES}
    leaked = sorted(name for name in reached if any(name == r or name.startswith(r + ".") for r in research))
    assert not leaked, leaked
    for name in RESEARCH_MODULES:  # each one exists: the list names real modules
        assert (ROOT / "model" / f"{name}.py").is_file() or (ROOT / "model" / name / "__init__.py").is_file(), name
    spec = (ROOT / "packaging" / "denoiser.spec").read_text(encoding="utf-8")
    assert 'f"model.{name}" for name in RESEARCH_MODULES' in spec and "excludes=EXCLUDES" in spec
