{#- True on Saturday and Sunday (UTC). Weekday numbering differs between warehouses. -#}
{% macro is_weekend(timestamp) -%}
    {{ return(adapter.dispatch('is_weekend')(timestamp)) }}
{%- endmacro %}

{% macro default__is_weekend(timestamp) -%}
    extract(isodow from {{ timestamp }}) in (6, 7)
{%- endmacro %}
