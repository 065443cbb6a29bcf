-- Web and app events; anonymous events keep their anonymous id so they can be attributed later.
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
    {{ newly_loaded_rows(source('web', 'web_events'), 'trim(event_id)') }}
),

cleaned as not materialized (
    select
        trim(event_id) as event_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(anonymous_id), '') as anonymous_id,
        event_at,
        lower(trim(event_type)) as event_type,
        page_path,
        coalesce(nullif(lower(trim(device)), ''), 'unknown') as device,
        _loaded_at,
        _raw_row_id
    from source
    where
        nullif(trim(event_id), '') is not null
        and event_at is not null
        and {{ is_not_in_future('event_at') }}
),

deduplicated as (
    {{ keep_first_raw_row('cleaned', 'event_id', 'event_at, customer_id, anonymous_id, event_type, page_path') }}
),

final as (
    select
        event_id,
        customer_id,
        anonymous_id,
        event_at,
        event_type,
        page_path,
        device,
        _loaded_at,
        {{ transformed_at() }} as _transformed_at
    from deduplicated
)

select * from final
