with source as (
    select * from {{ source('shop', 'products') }}
),

cleaned as (
    select
        trim(product_id) as product_id,
        trim(product_name) as product_name,
        coalesce(nullif(lower(trim(category)), ''), 'unknown') as category,
        list_price as list_price_amount
    from source
    where nullif(trim(product_id), '') is not null
),

deduplicated as (
    {{ keep_first('cleaned', 'product_id', 'product_name, category, list_price_amount') }}
),

final as (
    select
        product_id,
        product_name,
        category,
        list_price_amount
    from deduplicated
)

select * from final
