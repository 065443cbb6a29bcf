-- The inputs of the lifetime-value models (BG/NBD and Gamma-Gamma, ml/clv.py): per customer
-- with at least one purchase by the as-of date, the purchase days after the first one and their
-- timing. Orders placed on the same day are one purchase (the models count transactions, and a
-- basket split into two orders is one visit); a day's value is what was kept of its orders.
-- Only customers the consent policy allows to profile (dim_customers).
with purchase_days as (
    select
        orders.customer_id,
        cast(orders.ordered_at as date) as purchase_date,
        sum(orders.net_amount) as day_value
    from {{ ref('int_orders_valued') }} as orders
    inner join {{ ref('dim_customers') }} as customers
        on orders.customer_id = customers.customer_id
    where orders.is_purchase and orders.ordered_at < {{ as_of_end() }}
    group by orders.customer_id, cast(orders.ordered_at as date)
),

ranked as (
    select
        *,
        min(purchase_date) over (partition by customer_id) as first_purchase_date
    from purchase_days
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        min(first_purchase_date) as first_purchase_date,
        cast(count(*) - 1 as integer) as repeat_purchase_days,
        cast(date_diff('day', min(first_purchase_date), max(purchase_date)) as integer)
            as days_to_last_purchase,
        cast(date_diff('day', min(first_purchase_date), {{ as_of_date() }}) as integer)
            as days_since_first_purchase,
        avg(case when purchase_date > first_purchase_date then day_value end)
            as mean_repeat_purchase_value
    from ranked
    group by customer_id
)

select * from final
