-- One row per customer. Emails and phones become keyed hashes; names and cities are dropped, so no
-- raw personal data leaves the raw schema. When the CRM exported a customer twice, the record with
-- the latest consent change wins. Incremental: a daily load hashes only the customers it brought.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_id',
        on_schema_change='fail'
    )
}}

with source as (
    {{ newly_loaded_rows(source('shop', 'customers'), 'trim(customer_id)') }}
),

cleaned as (
    select
        trim(customer_id) as customer_id,
        {{ pseudonymize('email') }} as email_hash,
        {{ pseudonymize("regexp_replace(phone, '[^0-9+]', '', 'g')") }} as phone_hash,
        birth_date,
        case
            when lower(trim(gender)) in ('f', 'female', 'woman') then 'female'
            when lower(trim(gender)) in ('m', 'male', 'man') then 'male'
            when lower(trim(gender)) in ('other', 'non-binary', 'nonbinary', 'x', 'diverse') then 'other'
            else 'unknown'
        end as gender,
        coalesce(nullif(upper(trim(country)), ''), 'unknown') as country_code,
        signup_at,
        coalesce(marketing_consent, false) as has_marketing_consent,
        consent_updated_at,
        coalesce(nullif(lower(trim(acquisition_channel)), ''), 'unknown') as acquisition_channel,
        _loaded_at
    from source
    where
        nullif(trim(customer_id), '') is not null
),

deduplicated as (
    {{ keep_first(
        'cleaned',
        'customer_id',
        'consent_updated_at desc nulls last, signup_at, email_hash, phone_hash, has_marketing_consent'
    ) }}
),

final as (
    select
        customer_id,
        email_hash,
        phone_hash,
        birth_date,
        gender,
        country_code,
        signup_at,
        has_marketing_consent,
        consent_updated_at,
        acquisition_channel,
        _loaded_at,
        {{ transformed_at() }} as _transformed_at
    from deduplicated
)

select * from final
