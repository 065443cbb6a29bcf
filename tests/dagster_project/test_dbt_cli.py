"""The dbt resource knows the version of the dbt it runs without starting it."""

import re
import subprocess

from dagster_project.defs.dbt_cli import LockedDbtCliResource, locked_dbt_executable
from dagster_project.lib.settings import DBT_PROJECT_DIR


def test_version_is_that_of_the_dbt_it_runs() -> None:
    executable = locked_dbt_executable()
    dbt = LockedDbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=executable)
    printed = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, check=True
    ).stdout
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", printed)
    assert installed is not None, printed
    assert str(dbt._cli_version) == installed.group(1)
    assert dbt._cli_version.major < 2  # dbt Core, whose JSON logs dagster-dbt parses
