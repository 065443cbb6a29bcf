"""The error every file problem raises, whether the file came from the landing folder or through
a source mapping: it names the file, the column and the offending rows.

Rows are identified by their line number and pseudonymous key; a value is shown only for the
failing column, and never for a personal one. Texts from DuckDB that may quote a value have
their quoted values removed (`without_values`).
"""

import re
from pathlib import Path

import pandas as pd

SAMPLE_ROWS = 5
"""Offending rows shown per problem."""
HIDDEN = "(personal data, not shown)"
QUOTED_VALUE = re.compile(r"'(?:[^']|'')*'")


class InputFileError(ValueError):
    """An input file cannot be loaded as it is. The message names the file, the column and rows,
    and says that nothing was loaded."""

    def __init__(
        self,
        path: Path,
        problem: str,
        column: str | None = None,
        sample: pd.DataFrame | None = None,
    ) -> None:
        self.path = path
        self.column = column
        self.sample = sample if sample is not None else pd.DataFrame()
        where = f"Input file {path}" + (f', column "{column}"' if column else "")
        lines = [f"{where}: {problem}"]
        if not self.sample.empty:
            lines += ["Offending rows:", self.sample.to_string(index=False)]
        lines.append(
            "Fix the file and run again; nothing was loaded, the raw tables are unchanged."
        )
        super().__init__("\n".join(lines))


def shown_value(expression: str, personal: bool) -> str:
    """SQL for the value column of an offending-rows sample: the value, or a placeholder for a
    personal column."""
    return f"'{HIDDEN}'" if personal else f"cast({expression} as varchar)"


def without_values(message: str) -> str:
    """A DuckDB message's first line with every quoted value replaced: conversion errors quote
    the value that failed, which may be personal."""
    return QUOTED_VALUE.sub("'…'", message.splitlines()[0] if message else "")
