-- One row per order with what was bought, what came back and what was kept, in the reporting
-- currency. A returned order gives everything back; otherwise negative-quantity lines are returns,
-- capped at what the order bought. Incremental: orders whose header or lines staging rebuilt (a
-- changed product catalog makes the loader ask for a full refresh).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail'
    )
}}

with orders as (
    select * from {{ ref('stg_shop__orders') }}
    where {{ is_rebuilt_upstream(
        'order_id', 'order_id', [ref('stg_shop__orders'), ref('stg_shop__order_items')]
    ) }}
),

order_lines as (
    {{ valued_order_lines('orders') }}
),

line_totals as (
    select
        order_id,
        sum(case when not is_return_line then net_amount else 0 end) as purchased_amount,
        sum(case when not is_return_line then list_amount else 0 end) as list_amount,
        sum(case when is_return_line then net_amount else 0 end) as returned_line_amount
    from order_lines
    group by order_id
),

valued as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.status,
        orders.is_purchase,
        coalesce(line_totals.purchased_amount, 0) as purchased_amount,
        coalesce(line_totals.list_amount, 0) as list_amount,
        case
            when orders.is_returned then coalesce(line_totals.purchased_amount, 0)
            else least(
                coalesce(line_totals.returned_line_amount, 0),
                coalesce(line_totals.purchased_amount, 0)
            )
        end as returned_amount
    from orders
    left join line_totals
        on orders.order_id = line_totals.order_id
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        status,
        is_purchase,
        list_amount,
        purchased_amount,
        returned_amount,
        purchased_amount - returned_amount as net_amount,
        list_amount - purchased_amount as discount_amount,
        {{ transformed_at() }} as _transformed_at
    from valued
)

select * from final
