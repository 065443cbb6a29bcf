{#- Models land in the schema their folder names (staging, intermediate, marts), not in
    "<target schema>_<folder>", so SQL users find `marts.customer_features` where the docs say.
    A point-in-time rebuild (`--vars '{point_in_time_prefix: pit_, as_of_date: ...}'`) writes the
    as-of-dependent layers, intermediate and marts, to `pit_intermediate` and `pit_marts` instead,
    reading the same staging models: a past date is rebuilt without touching the current marts. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set schema = custom_schema_name | trim if custom_schema_name else target.schema -%}
    {%- if node.resource_type == 'model' and node.fqn[1] in ['intermediate', 'marts'] -%}
        {{ var('point_in_time_prefix', '') ~ schema }}
    {%- else -%}
        {{ schema }}
    {%- endif -%}
{%- endmacro %}
