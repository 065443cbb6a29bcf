{#- A per-customer count: zero for a customer with nothing counted, but null for everyone when
    the source was not provided at all (`observed` false), so that no zero pretends to be data. -#}
{% macro count_if_observed(count_column, observed) -%}
    case when {{ observed }} then cast(coalesce({{ count_column }}, 0) as integer) end
{%- endmacro %}
