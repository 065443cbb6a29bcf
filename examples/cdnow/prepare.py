"""Converts the CDNOW sample's whitespace-separated text (no header) into the Parquet file this
example's mapping reads: one row per purchase record with its customer, day, CDs and dollars.

    uv run python examples/cdnow/prepare.py ../shared/data/cdnow/cdnow_sample.txt

The text file pads its columns with a variable number of spaces, which no CSV dialect describes,
so it is split here once rather than in the mapping.
"""

import sys
from pathlib import Path

import pandas as pd

COLUMNS = ["master_id", "customer_id", "purchased_on", "cds", "dollars"]


def convert(text_file: Path, parquet_file: Path) -> int:
    records = pd.read_csv(
        text_file, sep=r"\s+", header=None, names=COLUMNS, dtype={"purchased_on": str}
    )
    records["customer_id"] = records["customer_id"].astype(str).str.zfill(4)
    records["record"] = records.groupby(["customer_id", "purchased_on"]).cumcount() + 1
    parquet_file.parent.mkdir(parents=True, exist_ok=True)
    records.drop(columns="master_id").to_parquet(parquet_file, index=False)
    return len(records)


if __name__ == "__main__":
    source = Path(sys.argv[1])
    rows = convert(source, Path(__file__).parent / "data" / "cdnow.parquet")
    print(f"{rows} purchase records written to examples/cdnow/data/cdnow.parquet")
