"""The orchestration package: `definitions.py` assembles the Dagster code location, `defs/` holds
the Dagster definitions, `lib/` the warehouse code they call (which never imports Dagster), and
`run.py` is `make run`. docs/architecture.md walks through every module."""
