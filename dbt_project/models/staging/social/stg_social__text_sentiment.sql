with source as (
    select * from {{ source('enrichment', 'text_sentiment') }}
),

final as (
    select
        text_md5,
        sentiment_compound
    from source
)

select * from final
