"""The dbt command line as Dagster runs it: the locked dbt, started once per command."""

import sys
from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging.version import Version


def locked_dbt_executable() -> str:
    """The dbt installed beside this interpreter (the locked version), even when the virtual
    environment is not activated and `dbt` is not on PATH; otherwise whatever PATH finds."""
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else "dbt"


class LockedDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the two steps it takes before every dbt command that this
    project never needs (2.5-6.6 s per command, measured):

    - `dbt --version` in a subprocess, only to learn the version: a second start of dbt, which also
      asks pypi.org for the latest release (a network call in every run). The dbt it runs is the
      one installed beside this interpreter, so the version is that of the dbt-core package here.
    - a dbt adapter built in this process for dagster-dbt's metadata fetchers: our assets read row
      counts and columns through their own DuckDB connection once dbt has exited.
    """

    @cached_property
    def _cli_version(self) -> Version:
        if self.dbt_executable != locked_dbt_executable():
            return super()._cli_version
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None
