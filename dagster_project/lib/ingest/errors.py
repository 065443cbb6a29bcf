"""The error every file problem raises, whether the file came from the landing folder or through
a source mapping: it names the file, the column and the offending rows."""

from pathlib import Path

import pandas as pd

SAMPLE_ROWS = 5
"""Offending rows shown per problem."""


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
