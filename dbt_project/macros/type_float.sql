{#- dbt's cross-database float type renders `float` on DuckDB, which is a 4-byte REAL there and would
    round amounts to ~7 digits. Features and money need 8-byte doubles. -#}
{% macro duckdb__type_float() -%}
    double
{%- endmacro %}
