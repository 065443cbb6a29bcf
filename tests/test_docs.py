"""The docs against the code: what a newcomer reads first must not contradict what runs."""

import re
from pathlib import Path

from dagster_project.lib.settings import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PACKAGES = ("dagster_project", "ml", "data_checks", "demo_data")
README_MAX_LINES = 200
VARIABLE = re.compile(r"\bSEG_[A-Z0-9_]+\b")


def _python_files(*folders: Path) -> list[Path]:
    return sorted(path for folder in folders for path in folder.rglob("*.py"))


def test_the_configuration_table_names_exactly_the_variables_the_code_reads() -> None:
    table = (DOCS / "configuration.md").read_text().split("\n## ", 1)[0]
    documented = set(VARIABLE.findall(table))
    code = _python_files(REPO_ROOT / "dagster_project", REPO_ROOT / "dbt_project" / "plugins")
    read = {name for path in code for name in VARIABLE.findall(path.read_text())}
    assert documented == read, (
        f"documented, not read: {sorted(documented - read)}; "
        f"read, not documented: {sorted(read - documented)}"
    )


def test_architecture_lists_every_module() -> None:
    architecture = (DOCS / "architecture.md").read_text()
    modules = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in _python_files(*(REPO_ROOT / package for package in PACKAGES))
        if path.name != "__init__.py"
    ]
    missing = [module for module in modules if f"`{module}`" not in architecture]
    assert not missing, f"add to docs/architecture.md: {missing}"


def test_the_readme_stays_short_and_its_links_resolve() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_MAX_LINES
    for document in (REPO_ROOT / "README.md", *DOCS.glob("*.md")):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to {target}"
