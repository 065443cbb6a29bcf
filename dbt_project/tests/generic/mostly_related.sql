{#- Like `relationships`, but tolerates a share of orphans: staging keeps rows whose parent was
    dropped as dirt (an order whose customer id was null, a line of an unknown product), because
    their revenue is real. Fails when orphans exceed `var('max_dirty_row_share')` of the rows.
    A parent table with no rows at all was not provided (a user's export without a product
    catalog): there is nothing to relate to, and the test passes. -#}
{% test mostly_related(model, column_name, to, field) %}
with children as (
    select {{ column_name }} as parent_key
    from {{ model }}
    where {{ column_name }} is not null
),

parents as (
    select {{ field }} as parent_key
    from {{ to }}
),

counts as (
    select
        count(*) as child_rows,
        sum(case when parents.parent_key is null then 1 else 0 end) as orphan_rows
    from children
    left join parents
        on children.parent_key = parents.parent_key
)

select
    child_rows,
    orphan_rows
from counts
where orphan_rows > {{ var('max_dirty_row_share') }} * child_rows
    and exists (select 1 from {{ to }})
{% endtest %}
