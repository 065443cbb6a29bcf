-- When customers buy: the share of their orders in the fourth quarter and at weekends (UTC).
with orders as (
    select * from {{ ref('int_orders_valued') }}
    where is_purchase and ordered_at < {{ as_of_end() }}
),

final as (
    select
        customer_id,
        {{ ratio('sum(case when extract(month from ordered_at) >= 10 then 1 else 0 end)', 'count(*)') }}
            as q4_order_share,
        {{ ratio('sum(case when ' ~ is_weekend('ordered_at') ~ ' then 1 else 0 end)', 'count(*)') }}
            as weekend_order_share
    from orders
    group by customer_id
)

select * from final
