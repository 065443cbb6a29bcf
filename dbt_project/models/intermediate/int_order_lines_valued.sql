-- Every order line with its category and its amounts in the reporting currency. Lines of unknown
-- products keep their revenue under the category 'unknown'. Incremental: the lines of orders whose
-- header or lines staging rebuilt (a changed product catalog makes the loader ask for a full refresh).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_line_id',
        on_schema_change='fail'
    )
}}

with order_lines as (
    select * from {{ ref('stg_shop__order_items') }}
    where {{ is_rebuilt_upstream(
        'order_id', 'order_id', [ref('stg_shop__order_items'), ref('stg_shop__orders')]
    ) }}
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
        -- Fixed-point amounts: their sums are exact, so they do not depend on the order rows are
        -- added in, and an incremental build gives the same features as a full refresh.
        cast(
            abs(order_lines.quantity) * order_lines.unit_price_amount
            * currency_rates.rate_to_reporting as {{ dbt.type_numeric() }}
        ) as list_amount,
        cast(
            abs(order_lines.quantity) * order_lines.unit_price_amount * (1 - order_lines.discount_share)
            * currency_rates.rate_to_reporting as {{ dbt.type_numeric() }}
        ) as net_amount,
        {{ transformed_at() }} as _transformed_at
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join products
        on order_lines.product_id = products.product_id
    left join currency_rates
        on orders.currency = currency_rates.currency
)

select * from final
