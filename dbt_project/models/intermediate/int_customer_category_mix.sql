-- Share of each customer's purchased spend per product category (var `product_categories`); spend
-- in any other category, including unknown products, is `category_share_other`. Shares sum to 1.
with order_lines as (
    select * from {{ ref('int_order_lines_valued') }}
    where is_purchase and not is_return_line and ordered_at < {{ as_of_end() }}
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
    from order_lines
    group by customer_id
)

select * from final
