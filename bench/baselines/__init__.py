"""The customer feature table computed without dbt, to compare against: one hand-written DuckDB
statement (`features.sql`, the practical lower bound) and plain pandas (what a data scientist
would write in a notebook). Both read the warehouse's raw schema, as the dbt models do."""
