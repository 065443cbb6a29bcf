{#- A share or rate: null, not zero, when the denominator is zero, because nothing was observed. -#}
{% macro ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ dbt.type_float() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}
