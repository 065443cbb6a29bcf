{#- Days in October to December before `day`, counted from year 0: the difference for two dates
    is the number of fourth-quarter days between them, without a calendar table. Each year has 92
    such days (Oct 31 + Nov 30 + Dec 31). -#}
{% macro q4_days_before(day) -%}
    (
        92 * extract(year from {{ day }})
        + least(
            greatest(
                {{ dbt.datediff(dbt.dateadd('month', 9, dbt.date_trunc('year', day)), day, 'day') }},
                0
            ),
            92
        )
    )
{%- endmacro %}
