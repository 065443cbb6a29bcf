-- Every customer with purchased spend has category shares that add up to 1.
select
    customer_id,
    {% for category in var('product_categories') %}category_share_{{ category }} + {% endfor %}category_share_other as total_share
from {{ ref('customer_features') }}
where
    category_share_other is not null
    and abs(
        {% for category in var('product_categories') %}category_share_{{ category }} + {% endfor %}category_share_other - 1
    ) > 1e-9
