"""Runs one baseline in a process of its own, so that its peak memory is its own:

    python -m bench.baselines {hand_sql|pandas} --warehouse W --as-of D --out F.parquet

writes the feature table to F and prints {"seconds": ...} as JSON; the harness samples its
memory from outside."""

import argparse
import json
import time
from datetime import date
from pathlib import Path

from bench.baselines.hand_sql import hand_sql_features
from bench.baselines.pandas_features import pandas_features

BASELINES = {"hand_sql": hand_sql_features, "pandas": pandas_features}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines", description=__doc__)
    parser.add_argument("baseline", choices=sorted(BASELINES))
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    features = BASELINES[args.baseline](args.warehouse, args.as_of)
    seconds = time.perf_counter() - started
    features.to_parquet(args.out, index=False)
    print(json.dumps({"seconds": round(seconds, 2)}))


if __name__ == "__main__":
    main()
