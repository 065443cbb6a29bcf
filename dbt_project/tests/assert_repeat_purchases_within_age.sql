-- A customer's latest purchase cannot come after the as-of date (t_x <= T), and without repeat
-- purchases there is no time between the first and the latest one.
select
    customer_id,
    repeat_purchase_days,
    days_to_last_purchase,
    days_since_first_purchase
from {{ ref('customer_repeat_purchases') }}
where days_to_last_purchase > days_since_first_purchase
    or (repeat_purchase_days = 0 and days_to_last_purchase <> 0)
