# Every target bootstraps its own environment: uv (installed with pip when missing) and the
# locked dependencies (uv sync --frozen).
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# make run and make ui export the example audiences on the demo data (docs/audiences.md) unless
# SEG_AUDIENCES_CONFIG is set; with your own files (SEG_SOURCE_CONFIG), only the ones you set.
DEMO_AUDIENCES := $(if $(SEG_SOURCE_CONFIG),,$(CURDIR)/examples/audiences/audiences.yml)
WITH_AUDIENCES := SEG_AUDIENCES_CONFIG="$${SEG_AUDIENCES_CONFIG-$(DEMO_AUDIENCES)}"

DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' -o -name '*.py' \) -print)
MANIFEST := dbt_project/target/manifest.json
SNAPSHOT := $(or $(SEG_SERVING_PATH),warehouse/segments.duckdb)

.PHONY: run ui docs sql test test-fast bench lint format clean help

help:
	@echo "make run   - run the whole pipeline on the embedded DuckDB warehouse (demo data on first use)"
	@echo "make ui    - Dagster UI on http://127.0.0.1:3000 with the same definitions"
	@echo "make docs  - serve the data-quality Data Docs on http://127.0.0.1:3001"
	@echo "make sql   - the duckdb CLI, read-only, on the published segments snapshot"
	@echo "make test  - the whole test suite (what CI runs, after make lint)"
	@echo "make test-fast - the tests without dbt builds, Dagster runs or a browser (under a minute)"
	@echo "make bench SIZE=100000 - full refresh per stage against hand-SQL and pandas baselines"
	@echo "make lint  - ruff check and format check"

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen
	@touch $@

$(MANIFEST): .venv/.synced $(DBT_FILES)
	cd dbt_project && $(UV) run --frozen dbt parse --quiet
	@touch $@

run: $(MANIFEST)
	$(WITH_AUDIENCES) $(UV) run --frozen python -m dagster_project.run

ui: $(MANIFEST)
	$(WITH_AUDIENCES) $(UV) run --frozen dagster dev -h 127.0.0.1 -p 3000

docs: .venv/.synced
	$(UV) run --frozen python -m dagster_project.lib.data_docs_server

sql: .venv/.synced
	@test -f "$(SNAPSHOT)" || { echo "No published snapshot at $(SNAPSHOT) yet: run make run first."; exit 1; }
	$(UV) run --frozen duckdb -readonly "$(SNAPSHOT)"

test: $(MANIFEST)
	$(UV) run --frozen pytest

test-fast: $(MANIFEST)
	$(UV) run --frozen pytest -m "not slow"

SIZE ?= 100000
bench: $(MANIFEST)
	$(UV) run --frozen python -m bench.refresh --size $(SIZE)

lint: .venv/.synced
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: .venv/.synced
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

clean:
	rm -rf warehouse landing dbt_project/target .venv/.synced
