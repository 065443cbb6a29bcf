-- Purchase behaviour per customer as of the as-of date: recency, frequency, monetary value, the
-- recent trend and returns. Cancelled orders never count; returned ones count as orders with
-- their value given back.
with orders as (
    select * from {{ ref('int_orders_valued') }}
    where is_purchase and ordered_at < {{ as_of_end() }}
),

final as (
    select
        customer_id,
        count(*) as orders_count,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        sum(list_amount) as list_amount,
        sum(purchased_amount) as purchased_amount,
        sum(returned_amount) as returned_amount,
        sum(net_amount) as net_amount,
        sum(discount_amount) as discount_amount,
        sum(
            case when ordered_at >= {{ days_before_as_of_end(var('recent_window_days')) }} then 1 else 0 end
        ) as recent_orders_count,
        sum(
            case
                when ordered_at >= {{ days_before_as_of_end(var('recent_window_days')) }}
                    then net_amount
                else 0
            end
        ) as recent_net_amount,
        sum(
            case
                when ordered_at >= {{ days_before_as_of_end(2 * var('recent_window_days')) }}
                    and ordered_at < {{ days_before_as_of_end(var('recent_window_days')) }}
                    then net_amount
                else 0
            end
        ) as previous_net_amount
    from orders
    group by customer_id
)

select * from final
