{#- Keeps rows stamped no later than their load time plus `future_tolerance_hours`: anything later
    cannot have happened yet and is a clock or export error. -#}
{% macro is_not_in_future(timestamp_column) -%}
    {{ timestamp_column }} <= {{ dbt.dateadd('hour', var('future_tolerance_hours'), '_loaded_at') }}
{%- endmacro %}
