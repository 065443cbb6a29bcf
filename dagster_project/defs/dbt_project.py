"""The dbt project as Dagster sees it: where it lives (and its manifest, parsed in development),
and how its nodes become asset keys and groups."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtProject

from dagster_project.lib.names import RAW_SCHEMA, raw_asset_name
from dagster_project.lib.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


class SegmentsDbtTranslator(DagsterDbtTranslator):
    """Raw sources map onto the ingestion assets (`raw_<table>`), other sources and models onto
    their own names; groups follow the dbt folders (staging, intermediate, marts)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            name = dbt_resource_props["name"]
            return AssetKey(
                raw_asset_name(name) if dbt_resource_props["schema"] == RAW_SCHEMA else name
            )
        return AssetKey(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        return dbt_resource_props["fqn"][1]
