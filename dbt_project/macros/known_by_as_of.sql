{#- Whether a customer of stg_shop__customers (aliased `customers`) was known by the as-of date:
    signed up before it, or, without a sign-up time (exports built from orders alone), ordered
    before it. A customer with neither is known throughout, as a CRM record without a date. -#}
{% macro known_by_as_of() -%}
    (
        customers.signup_at < {{ as_of_end() }}
        or (
            customers.signup_at is null
            and coalesce(
                (
                    select min(first_orders.ordered_at)
                    from {{ ref('stg_shop__orders') }} as first_orders
                    where first_orders.customer_id = customers.customer_id
                ) < {{ as_of_end() }},
                true
            )
        )
    )
{%- endmacro %}
