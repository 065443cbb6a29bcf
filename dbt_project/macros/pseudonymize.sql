{#- Keyed HMAC-SHA256 of normalised personal data (trimmed, lower case), null for blanks.
    On DuckDB the function comes from plugins/pseudonymize.py, which holds the key outside SQL;
    another warehouse needs its own implementation of this macro. -#}
{% macro pseudonymize(column) -%}
    {{ return(adapter.dispatch('pseudonymize')(column)) }}
{%- endmacro %}

{% macro duckdb__pseudonymize(column) -%}
    pseudonymize(nullif(lower(trim({{ column }})), ''))
{%- endmacro %}

{% macro default__pseudonymize(column) -%}
    {{ exceptions.raise_compiler_error("pseudonymize() needs a keyed hash implementation for " ~ target.type) }}
{%- endmacro %}
