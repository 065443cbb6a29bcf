"""The house rules of docs/architecture.md, checked on the code: `defs/` is Dagster definitions
only, `lib/`, `ml/` and `data_checks/` never load Dagster, and modules stay small."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from dagster_project.lib.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "dagster_project"
LONGEST_MODULE_LINES = 300
LONG_MODULE_REASON = "Longer than"  # how a module's docstring says why it is long


def modules(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if path.name != "__init__.py")


def imported(path: Path) -> set[str]:
    """Top-level names of every module `path` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def is_dagster(module: str) -> bool:
    top = module.split(".")[0]
    return top == "dagster" or (top.startswith("dagster_") and top != "dagster_project")


@pytest.mark.parametrize("path", modules(PACKAGE / "defs"), ids=lambda p: p.name)
def test_every_definitions_module_imports_dagster(path: Path) -> None:
    assert any(is_dagster(name) for name in imported(path)), f"{path} is not Dagster code"


def test_plain_code_never_loads_dagster() -> None:
    """Imported in a fresh interpreter, every module of lib/, ml/ and data_checks/ leaves Dagster
    unloaded (directly or through anything they import), and none imports defs/."""
    plain = [
        *modules(PACKAGE / "lib"),
        *modules(REPO_ROOT / "ml"),
        *modules(REPO_ROOT / "data_checks"),
    ]
    names = [".".join(path.relative_to(REPO_ROOT).with_suffix("").parts) for path in plain]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster_')"
        " and not m.startswith('dagster_project') or m.startswith('dagster_project.defs')))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout.strip()
    assert loaded == "[]"


@pytest.mark.parametrize("folder", ["ml", "data_checks"])
def test_modelling_and_checks_know_nothing_of_the_warehouse_layer(folder: str) -> None:
    for path in modules(REPO_ROOT / folder):
        assert not [name for name in imported(path) if name.startswith("dagster_project")], path


def test_modules_stay_small_or_say_why() -> None:
    long = [
        path
        for folder in ("dagster_project", "ml", "data_checks", "demo_data", "bench")
        for path in modules(REPO_ROOT / folder)
        if len(path.read_text().splitlines()) > LONGEST_MODULE_LINES
        and LONG_MODULE_REASON not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert not long, f"over {LONGEST_MODULE_LINES} lines without a reason in the docstring"
