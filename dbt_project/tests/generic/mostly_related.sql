{#- Like `relationships`, but tolerates a share of orphans: staging keeps rows whose parent was
    dropped as dirt (an order whose customer id was null, a line of an unknown product), because
    their revenue is real. Fails when orphans exceed `var('max_dirty_row_share')` of the rows. -#}
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
{% endtest %}
