{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail'
    )
}}

-- Not materialized: the deduplication reads the cleaned rows twice (macros/keep_first.sql).
with source as not materialized (
    {{ newly_loaded_rows(source('marketing', 'campaign_events'), 'trim(event_id)') }}
),

cleaned as not materialized (
    select
        trim(event_id) as event_id,
        trim(customer_id) as customer_id,
        trim(campaign_id) as campaign_id,
        lower(trim(channel)) as channel,
        lower(trim(event_type)) as event_type,
        event_at,
        _loaded_at,
        _raw_row_id
    from source
    where
        nullif(trim(event_id), '') is not null
        and nullif(trim(customer_id), '') is not null
        and nullif(trim(campaign_id), '') is not null
        and event_at is not null
        and {{ is_not_in_future('event_at') }}
),

deduplicated as (
    {{ keep_first_raw_row('cleaned', 'event_id', 'event_at, customer_id, campaign_id, event_type, channel') }}
),

final as (
    select
        event_id,
        customer_id,
        campaign_id,
        channel,
        event_type,
        event_at,
        _loaded_at,
        {{ transformed_at() }} as _transformed_at
    from deduplicated
)

select * from final
