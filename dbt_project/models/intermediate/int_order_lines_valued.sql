-- Every order line with its category and its amounts in the reporting currency. Lines of unknown
-- products keep their revenue under the category 'unknown'.
with order_lines as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

currency_rates as (
    select * from {{ ref('currency_rates') }}
),

final as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.is_purchase,
        orders.is_returned,
        order_lines.is_return_line,
        coalesce(products.category, 'unknown') as category,
        abs(order_lines.quantity) * order_lines.unit_price_amount
            * currency_rates.rate_to_reporting as list_amount,
        abs(order_lines.quantity) * order_lines.unit_price_amount * (1 - order_lines.discount_share)
            * currency_rates.rate_to_reporting as net_amount
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join products
        on order_lines.product_id = products.product_id
    left join currency_rates
        on orders.currency = currency_rates.currency
)

select * from final
