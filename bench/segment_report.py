"""What a published segmentation says, read from a warehouse file: for the closing note of a
modelling change, on the demo and on data nobody here generated (Online Retail, CDNOW).

    uv run --frozen python -m bench.segment_report warehouse/warehouse.duckdb [...]

Per segment: customers, the share of one- and two-order customers, the median membership
probability (or, on warehouses from before it existed, the assigner's confidence) and the
evidence behind the name; then the model's scores and, where published, the backtest.
"""

import sys
from pathlib import Path

import duckdb
import pandas as pd

pd.set_option("display.width", 200)
pd.set_option("display.max_columns", 20)
pd.set_option("display.max_colwidth", 90)


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    return {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }


def report(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        segments = _columns(conn, "segments.customer_segments")
        probability = (
            "membership_probability" if "membership_probability" in segments else "confidence"
        )
        evidence = (
            ", p.name_evidence"
            if "name_evidence" in _columns(conn, "segments.segment_profiles")
            else ""
        )
        per_segment = conn.execute(
            f"""
            select s.segment_id, any_value(s.segment_name) as name, count(*) as customers,
                   round(avg((f.frequency = 1)::int), 3) as one_order,
                   round(avg((f.frequency = 2)::int), 3) as two_orders,
                   round(median(s.{probability}), 3) as median_{probability},
                   round(quantile_cont(s.{probability}, 0.05), 3) as p5_{probability}
                   {evidence.replace("p.", "any_value(p.") + ")" if evidence else ""}
            from segments.customer_segments as s
            join marts.customer_features as f using (customer_id)
            left join segments.segment_profiles as p using (segment_id)
            group by s.segment_id order by s.segment_id
            """
        ).df()
        model = conn.execute(
            "select * exclude (features, params, trained_at) from segments.model_runs "
            "order by trained_at desc limit 1"
        ).df()
        lines = [f"## {warehouse}", per_segment.to_string(index=False), "", "model:"]
        lines += [f"  {key}: {value}" for key, value in model.iloc[0].items()]
        names = {
            f"{row[0]}.{row[1]}"
            for row in conn.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        if "segments.backtests" in names:
            backtests = conn.execute(
                "pivot (select grouping, measure, round(eta_squared, 4) as eta_squared "
                "from segments.backtests where cutoff_date = (select max(cutoff_date) "
                "from segments.backtests)) on grouping using any_value(eta_squared)"
            ).df()
            lines += ["", "backtest (eta squared of later behaviour):", backtests.to_string()]
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(report(Path(path)), end="\n\n")
