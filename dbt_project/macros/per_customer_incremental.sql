{#- Per-customer models over events (web sessions, campaign funnel) are incremental by customer:
    a build recomputes every row of the customers whose events changed since the model's last
    build, and only theirs. An event changed when it entered the as-of window (the as-of date moved
    forward), when staging rebuilt it (new, late or redelivered), or when such a rebuild replaced an
    earlier version of it: staging keeps only the current version, so the owners of earlier ones
    are read from raw. Each row records the as-of date it was built for (`_as_of_date`); a build
    for an earlier as-of date than the model's newest empties the model and recomputes everyone,
    so going back in time (a point-in-time rebuild) needs no full refresh. -#}

{#- The model config: `emptied_marker` is a column null only in the row marking a customer left
    without rows (see per_customer_rows). -#}
{% macro incremental_by_customer_config(emptied_marker) -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'customer_id',
        'on_schema_change': 'fail',
        'pre_hook': '{{ forget_later_as_of_dates() }}',
        'post_hook': "{{ drop_emptied_customers('" ~ emptied_marker ~ "') }}",
    }) -}}
{%- endmacro %}

{% macro is_incremental_by_customer() -%}
    {{- return(is_incremental() and not as_of_moved_back()) -}}
{%- endmacro %}

{% macro as_of_moved_back() -%}
    {%- if not (execute and is_incremental()) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- do require_built_column('_as_of_date') -%}
    {%- set newest = run_query(
        'select coalesce(max(_as_of_date) > ' ~ as_of_date() ~ ', false) from ' ~ this
    ) -%}
    {{- return(newest.columns[0].values()[0]) -}}
{%- endmacro %}

{#- Customers (and any other `owners` columns, e.g. anonymous ids) of the events that changed.
    `events` holds the staging rows before the as-of end; `staging` is the whole staging model. -#}
{% macro changed_event_owners(events, staging, raw_source, key, owners) -%}
    select {{ owners | join(', ') }}
    from {{ events }}
    where
        event_at >= {{ last_build_as_of_end() }}
        or _transformed_at > {{ last_build_stamp() }}
    union
    select
        {%- for owner in owners %}
        nullif(trim({{ owner }}), '') as {{ owner }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ raw_source }}
    where trim({{ key }}) in (
        select {{ key }} from {{ staging }}
        where _transformed_at > {{ last_build_stamp() }}
    )
{%- endmacro %}

{% macro last_build_as_of_end() -%}
    cast(
        {{ dbt.dateadd('day', 1, newest_in_this('_as_of_date', 'date')) }}
        as {{ dbt.type_timestamp() }}
    )
{%- endmacro %}

{#- The model's rows: on an incremental build by customer, every customer in `rebuilt_customers`
    with their new rows, or with one row of nulls when they have none left (the rows an earlier
    build gave them go either way; `drop_emptied_customers` removes the null row after the insert). -#}
{% macro per_customer_rows(rows) -%}
    select
        *,
        {{ as_of_date() }} as _as_of_date,
        {{ transformed_at() }} as _transformed_at
    {% if is_incremental_by_customer() -%}
    from rebuilt_customers
    left join {{ rows }} using (customer_id)
    {%- else -%}
    from {{ rows }}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook: building for an earlier as-of date than the model's newest starts from nothing. -#}
{% macro forget_later_as_of_dates() -%}
    {%- if as_of_moved_back() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: the null rows of customers left without any (`column` is null only there). -#}
{% macro drop_emptied_customers(column) -%}
    delete from {{ this }} where {{ column }} is null
{%- endmacro %}
