"""The code location loads; every asset is described, grouped and serialized on the warehouse."""

from pathlib import Path

import pytest
import yaml
from dagster import Definitions

from dagster_project.definitions import build_definitions, defs
from dagster_project.defs.fairness import SEGMENTS_ARE_FAIR
from dagster_project.lib.names import WAREHOUSE_POOL
from dagster_project.lib.settings import REPO_ROOT, Settings

GROUPS = {
    "ingest",
    "enrichment",
    "reference",
    "staging",
    "intermediate",
    "marts",
    "quality",
    "segmentation",
    "serving",
    "predictions",
}


def test_definitions_load() -> None:
    Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("full_refresh") is not None


def test_every_asset_has_group_description_and_kinds() -> None:
    graph = defs.resolve_asset_graph()
    nodes = [graph.get(key) for key in graph.get_all_asset_keys()]
    assert {node.group_name for node in nodes} == GROUPS
    for node in nodes:
        assert node.description, node.key
        assert node.kinds, node.key
    keys = {node.key.to_user_string() for node in nodes}
    assert {"raw_orders", "text_sentiment", "customer_features", "dim_customers"} <= keys
    assert {"segmentation_model", "customer_segments", "segment_profiles", "rfm_segments"} <= keys
    assert len([key for key in keys if key.startswith("raw_")]) == 7
    assert "serving_snapshot" in keys
    assert {"clv_model", "purchase_propensity_model", "customer_predictions"} <= keys


def test_the_prediction_checks_block_and_the_daily_refresh_does_not_train() -> None:
    graph = defs.resolve_asset_graph()
    checks = {
        key.name: graph.get_check_spec(key).blocking
        for key in graph.asset_check_keys
        if key.asset_key.to_user_string() in ("clv_model", "purchase_propensity_model")
    }
    assert checks == {"parameters_in_range": True, "holdout_roc_auc_above_floor": True}
    daily = {
        key.to_user_string()
        for key in defs.resolve_job_def("daily_refresh").asset_layer.executable_asset_keys
    }
    assert "customer_predictions" in daily
    assert not {"clv_model", "purchase_propensity_model", "segmentation_model"} & daily


def test_great_expectations_gates_are_blocking() -> None:
    graph = defs.resolve_asset_graph()
    gates = {
        (key.asset_key.to_user_string(), key.name): graph.get_check_spec(key).blocking
        for key in graph.asset_check_keys
        if key.name
        in ("meets_raw_expectations", "valid_rows", "consistent_with_last_validated_run")
    }
    assert len(gates) == 9  # seven raw tables, two on customer_features
    assert all(gates.values())


def test_the_fairness_check_warns_unless_configured_to_block(tmp_path: Path) -> None:
    def fairness_check_blocks(environment: dict[str, str]) -> bool:
        settings = Settings.from_env(
            {"SEG_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), **environment}
        )
        graph = build_definitions(settings).resolve_asset_graph()
        (key,) = [key for key in graph.asset_check_keys if key.name == SEGMENTS_ARE_FAIR]
        return graph.get_check_spec(key).blocking

    assert not fairness_check_blocks({})
    assert fairness_check_blocks({"SEG_FAIRNESS_BLOCKING": "1"})


def test_every_asset_and_check_uses_the_single_writer_pool() -> None:
    nodes = [*defs.assets, *defs.asset_checks]
    assert {definition.node_def.pool for definition in nodes} == {WAREHOUSE_POOL}
    instance_config = yaml.safe_load((REPO_ROOT / ".dagster_home" / "dagster.yaml").read_text())
    assert instance_config["concurrency"]["pools"]["default_limit"] == 1


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "SEG_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
            "SEG_LANDING_DIR": str(tmp_path / "in"),
            "SEG_AS_OF_DATE": "2024-06-30",
        }
    )
    assert settings.warehouse_path == tmp_path / "w.duckdb"
    assert settings.landing_dir == tmp_path / "in"
    assert settings.as_of_date == "2024-06-30"
    defaults = Settings.from_env({})
    assert defaults.warehouse_path == REPO_ROOT / "warehouse" / "warehouse.duckdb"
    assert defaults.as_of_date == ""
    assert defaults.snapshot_path == REPO_ROOT / "warehouse" / "segments.duckdb"
    served = Settings.from_env({"SEG_SERVING_PATH": str(tmp_path / "s.duckdb")})
    assert served.snapshot_path == tmp_path / "s.duckdb"
    with pytest.raises(ValueError, match="SEG_AS_OF_DATE must be a date"):
        Settings.from_env({"SEG_AS_OF_DATE": "30/06/2024"})
