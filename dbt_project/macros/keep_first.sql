{#- Deduplicates on a key: keeps the first row per `key` in `order_by` order. The order must end in
    enough tie-breakers to make the choice deterministic; exact duplicates tie harmlessly. -#}
{% macro keep_first(relation, key, order_by) -%}
    select *
    from (
        select
            *,
            row_number() over (partition by {{ key }} order by {{ order_by }}) as row_rank
        from {{ relation }}
    ) as ranked
    where row_rank = 1
{%- endmacro %}
