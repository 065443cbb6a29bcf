{#- Models land in the schema their folder names (staging, intermediate, marts), not in
    "<target schema>_<folder>", so SQL users find `marts.customer_features` where the docs say. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
