-- Customers known on the as-of date whom the consent policy does not allow to profile: they are in
-- no feature, segment or snapshot table. Pseudonymous keys only; the segment store closes their
-- history spells with the reason and counts them per scoring run.
-- depends_on: {{ ref('stg_shop__orders') }}
with customers as (
    select * from {{ ref('stg_shop__customers') }} as customers
    where
        {{ known_by_as_of() }}
        and not {{ may_profile('has_marketing_consent') }}
),

final as (
    select
        customer_id,
        cast('no_marketing_consent' as varchar) as reason,
        consent_updated_at,
        {{ as_of_date() }} as as_of_date
    from customers
)

select * from final
