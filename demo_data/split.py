"""Split demo data into history and one new day, to rehearse daily incremental refreshes.

`split_day(source, history, day_dir, day)` writes every source's rows stamped before or after
`day` into `history/<source>/` and the rows of `day` itself into
`day_dir/<source>/day-<day>.parquet`, the file a daily export would drop into the landing
folder. Order lines follow their order.
`late_orders` also moves that many orders from at least 30 days before `day` (chosen by a hash
of their id, with their lines) into the day file: late-arriving data.
"""

import argparse
from datetime import date, timedelta
from pathlib import Path

import duckdb

# The timestamp that places each source's rows in time; products have none and stay in history.
TIME_COLUMNS = {
    "customers": "signup_at",
    "orders": "ordered_at",
    "web_events": "event_at",
    "campaign_events": "event_at",
    "social_interactions": "occurred_at",
}
LATE_MIN_DAYS = 30


def split_day(source: Path, history: Path, day_dir: Path, day: date, late_orders: int = 0) -> None:
    with duckdb.connect() as conn:
        conn.execute("set TimeZone = 'UTC'")
        conn.execute(
            f"create temp table new_orders as select order_id from {_read(source, 'orders')} "
            "where ordered_at >= ? and ordered_at < ? "
            f"union all (select order_id from {_read(source, 'orders')} where ordered_at < ? "
            "order by hash(order_id), order_id limit ?)",
            [day, day + timedelta(days=1), day - timedelta(days=LATE_MIN_DAYS), late_orders],
        )
        start, end = (f"timestamptz '{d.isoformat()}'" for d in (day, day + timedelta(days=1)))
        new_order = "order_id in (select order_id from new_orders)"
        on_day = {
            name: new_order if name == "orders" else f"{column} >= {start} and {column} < {end}"
            for name, column in TIME_COLUMNS.items()
        }
        for name, condition in {**on_day, "order_items": new_order, "products": "false"}.items():
            outputs = {
                history / name / "history.parquet": f"not ({condition})",
                day_dir / name / f"day-{day.isoformat()}.parquet": condition,
            }
            for target, where in outputs.items():
                _copy(conn, f"select * from {_read(source, name)} where {where}", target)


def _read(folder: Path, name: str) -> str:
    return f"read_parquet('{_escaped(folder / name / '*.parquet')}')"


def _escaped(path: Path) -> str:
    return str(path).replace("'", "''")


def _copy(conn: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """Writes the query's rows to `target`, unless there are none (no empty landing files)."""
    if conn.execute(f"select count(*) from ({query})").fetchone()[0] == 0:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    conn.execute(f"copy ({query}) to '{_escaped(target)}' (format parquet)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo_data.split", description=__doc__)
    parser.add_argument("--source", type=Path, required=True, help="demo landing folder")
    parser.add_argument("--history", type=Path, required=True)
    parser.add_argument("--day-dir", type=Path, required=True)
    parser.add_argument("--day", type=date.fromisoformat, required=True)
    parser.add_argument("--late-orders", type=int, default=0)
    args = parser.parse_args(argv)
    split_day(args.source, args.history, args.day_dir, args.day, args.late_orders)


if __name__ == "__main__":
    main()
