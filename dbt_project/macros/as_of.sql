{#- Features describe each customer at the end of `var('as_of_date')` (default: today, UTC).
    Events count when they happened before `as_of_end()`, midnight after the as-of date. -#}
{% macro as_of_date_literal() -%}
    {%- set configured = var('as_of_date', none) -%}
    {%- set as_of = configured if configured else modules.datetime.datetime.utcnow().date().isoformat() -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of | string) -%}
        {{ exceptions.raise_compiler_error("as_of_date must be YYYY-MM-DD, got '" ~ as_of ~ "'") }}
    {%- endif -%}
    {{ as_of }}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_date_literal() }}' as date)
{%- endmacro %}

{% macro as_of_end() -%}
    cast({{ dbt.dateadd('day', 1, as_of_date()) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- Start of the trailing window of `days` days that ends with the as-of date. -#}
{% macro days_before_as_of_end(days) -%}
    cast({{ dbt.dateadd('day', -1 * days, as_of_end()) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}
