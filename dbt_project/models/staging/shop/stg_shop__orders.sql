-- Order headers without null keys or clock errors, one row per order id.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail'
    )
}}

-- Not materialized: the deduplication reads the cleaned rows twice (macros/keep_first.sql).
with source as not materialized (
    {{ newly_loaded_rows(source('shop', 'orders'), 'trim(order_id)') }}
),

cleaned as not materialized (
    select
        trim(order_id) as order_id,
        trim(customer_id) as customer_id,
        ordered_at,
        lower(trim(status)) as status,
        upper(trim(currency)) as currency,
        coalesce(nullif(lower(trim(channel)), ''), 'unknown') as channel,
        _loaded_at,
        _raw_row_id
    from source
    where
        nullif(trim(order_id), '') is not null
        and nullif(trim(customer_id), '') is not null
        and ordered_at is not null
        and {{ is_not_in_future('ordered_at') }}
),

deduplicated as (
    {{ keep_first_raw_row('cleaned', 'order_id', 'ordered_at desc, status, customer_id, currency, channel') }}
),

final as (
    select
        order_id,
        customer_id,
        ordered_at,
        status,
        status in ('completed', 'returned') as is_purchase,
        status = 'returned' as is_returned,
        currency,
        channel,
        _loaded_at,
        {{ transformed_at() }} as _transformed_at
    from deduplicated
)

select * from final
