"""Dagster definitions only: assets, asset checks, resources, jobs, schedules and sensors. Every
module here imports Dagster and stays thin: it reads inputs, calls `lib/`, `ml/` and
`data_checks/`, writes outputs and attaches metadata."""
