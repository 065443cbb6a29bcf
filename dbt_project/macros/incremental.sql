{#- Incremental staging. On an incremental run a model rebuilds only the keys of raw rows loaded
    after the newest load it has processed, less `late_arrival_lookback_hours`, and it rebuilds them
    from every raw row with those keys, so deduplication keeps exactly the row a full refresh keeps.
    The watermark is the load time, not the event time: a late event (one that happened long ago but
    arrived today) is new to the loader and is processed like any other. The lookback re-reads loads
    committed out of order (two loaders, clock skew); it costs only re-reading those rows. -#}
{% macro is_newly_loaded(key_expression) -%}
    {%- if is_incremental() -%}
        {%- do require_built_column('_loaded_at') -%}
        {{ key_expression }} in (
            select {{ key_expression }} from source
            where _loaded_at > (
                select {{ dbt.dateadd(
                    'hour',
                    -1 * var('late_arrival_lookback_hours'),
                    "coalesce(max(_loaded_at), cast('1900-01-01' as " ~ dbt.type_timestamp() ~ "))"
                ) }}
                from {{ this }}
            )
        )
    {%- else -%}
        true
    {%- endif -%}
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
    (
        select coalesce(max(_transformed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )
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
