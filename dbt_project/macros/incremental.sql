{#- Incremental staging: the raw rows a model's build reads (its `source` CTE). On an incremental
    run a model rebuilds only the keys of raw rows loaded after the newest load it has processed,
    less `late_arrival_lookback_hours`, and it rebuilds them from every raw row with those keys, so
    deduplication keeps exactly the row a full refresh keeps. The watermark is the load time, not
    the event time: a late event (one that happened long ago but arrived today) is new to the
    loader and is processed like any other. The lookback re-reads loads committed out of order
    (two loaders, clock skew); it costs only re-reading those rows.
    The rows are picked by DuckDB's `rowid`, found from the key column alone: filtering on the key
    directly let DuckDB push the model's cleaning filters into the scan, evaluated on every raw
    row with every column read before the key join (a day's web events among 25M: 3.8 s, by rowid
    1.4 s). The keys are read from `relation` itself, not from a CTE over it: DuckDB materializes
    a CTE referenced twice, which copied all 30M raw order lines on every daily build.
    Each row also carries its `rowid` as `_raw_row_id`, for keep_first_raw_row. -#}
{% macro newly_loaded_rows(relation, key_expression) -%}
    select *, rowid as _raw_row_id from {{ relation }}
    {%- if is_incremental() %}
    {%- do require_built_column('_loaded_at') %}
    where rowid in (
        select rowid from {{ relation }}
        where {{ key_expression }} in (
            select {{ key_expression }} from {{ relation }}
            where _loaded_at > {{ dbt.dateadd(
                'hour',
                -1 * var('late_arrival_lookback_hours'),
                newest_in_this('_loaded_at', 'timestamp with time zone')
            ) }}
        )
    )
    {%- endif %}
{%- endmacro %}

{#- When this run rebuilt the row: rows an incremental run did not touch keep their earlier stamp. -#}
{% macro transformed_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Incremental models downstream of staging rebuild only the keys (`key_column`, matched by
    `key_expression`) of rows that `relations` rebuilt after this model's last run. -#}
{% macro is_rebuilt_upstream(key_expression, key_column, relations) -%}
    {%- if is_incremental() -%}
        {{ key_expression }} in (
            {%- for relation in relations %}
            select {{ key_column }} from {{ relation }}
            where _transformed_at > {{ last_build_stamp() }}
            {%- if not loop.last %}
            union all
            {%- endif -%}
            {%- endfor %}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The newest `_transformed_at` of this incremental model: when its last build ran. -#}
{% macro last_build_stamp() -%}
    {{ newest_in_this('_transformed_at', dbt.type_timestamp()) }}
{%- endmacro %}

{#- The newest `column` of this model's table, as a literal of `type` (1900-01-01 when empty).
    Read once when the model compiles: a watermark subquery in the model's SQL would be planned as
    a join and rescan this table for every probe, and a literal lets DuckDB skip row groups by
    their min/max statistics (a day's keys among 30M order lines: 3.2 s with the subquery, 1.5 s
    with the literal). -#}
{% macro newest_in_this(column, type) -%}
    {%- set newest = '1900-01-01' -%}
    {%- if execute -%}
        {%- set found = run_query(
            'select cast(max(' ~ column ~ ') as varchar) from ' ~ this
        ).columns[0].values()[0] -%}
        {%- if found is not none -%}
            {%- set newest = found -%}
        {%- endif -%}
    {%- endif -%}
    cast('{{ newest }}' as {{ type }})
{%- endmacro %}

{#- An incremental build reads `column` from the model's table; a table built by an earlier version
    of the model, before it was incremental, lacks it. Stop with the one command that fixes it. -#}
{% macro require_built_column(column) -%}
    {%- if execute and column not in adapter.get_columns_in_relation(this) | map(attribute='name') -%}
        {{- exceptions.raise_compiler_error(
            this ~ ' was built by an earlier version, without `' ~ column ~ '`: rebuild it once with '
            ~ '`dbt build --full-refresh --select ' ~ this.identifier ~ '`'
        ) -}}
    {%- endif -%}
{%- endmacro %}
