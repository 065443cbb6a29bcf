-- A customer's latest order cannot be older than the customer.
select
    customer_id,
    recency_days,
    tenure_days
from {{ ref('customer_features') }}
where recency_days > tenure_days
