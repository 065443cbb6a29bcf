-- Order lines, one row per (order, line number). A negative quantity is a returned item.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_line_id',
        on_schema_change='fail'
    )
}}

-- Not materialized: the deduplication reads the cleaned rows twice (macros/keep_first.sql).
with source as not materialized (
    {{ newly_loaded_rows(source('shop', 'order_items'), 'trim(order_id)') }}
),

cleaned as not materialized (
    select
        trim(order_id) as order_id,
        line_number,
        trim(product_id) as product_id,
        quantity,
        unit_price as unit_price_amount,
        coalesce(discount, 0) as discount_share,
        _loaded_at,
        _raw_row_id
    from source
    where
        nullif(trim(order_id), '') is not null
        and line_number is not null
        and quantity is not null
        and quantity <> 0
        and unit_price is not null
),

deduplicated as (
    {{ keep_first_raw_row(
        'cleaned',
        'order_id, line_number',
        'product_id, quantity, unit_price_amount, discount_share'
    ) }}
),

final as (
    select
        {{ dbt.concat(['order_id', "'-'", 'cast(line_number as varchar)']) }} as order_line_id,
        order_id,
        line_number,
        product_id,
        quantity,
        quantity < 0 as is_return_line,
        unit_price_amount,
        discount_share,
        _loaded_at,
        {{ transformed_at() }} as _transformed_at
    from deduplicated
)

select * from final
