-- Customers known on the as-of date whom the consent policy allows to profile (the others are in
-- customers_left_out), without raw personal data: contact details are keyed hashes, the birth
-- date is reduced to an age band on the as-of date.
-- depends_on: {{ ref('stg_shop__orders') }}
with customers as (
    select * from {{ ref('stg_shop__customers') }} as customers
    where
        {{ known_by_as_of() }}
        and {{ may_profile('has_marketing_consent') }}
),

ages as (
    select
        *,
        extract(year from {{ as_of_date() }}) - extract(year from birth_date)
        - case
            when extract(month from {{ as_of_date() }}) * 100 + extract(day from {{ as_of_date() }})
                < extract(month from birth_date) * 100 + extract(day from birth_date)
                then 1
            else 0
        end as age_years
    from customers
),

final as (
    select
        customer_id,
        email_hash,
        phone_hash,
        case
            when age_years is null or age_years < 0 or age_years > 110 then 'unknown'
            when age_years < 18 then 'under_18'
            when age_years < 25 then '18-24'
            when age_years < 35 then '25-34'
            when age_years < 45 then '35-44'
            when age_years < 55 then '45-54'
            when age_years < 65 then '55-64'
            else '65+'
        end as age_band,
        gender,
        country_code,
        acquisition_channel,
        has_marketing_consent,
        consent_updated_at,
        signup_at,
        {{ as_of_date() }} as as_of_date
    from ages
)

select * from final
