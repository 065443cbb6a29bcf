"""Plain warehouse code, without Dagster: ingest, the segment store, the serving snapshot, model
artifacts, alerts and DuckDB file helpers. Tested as plain code and usable from a notebook."""
