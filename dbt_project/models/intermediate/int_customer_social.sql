-- Social activity per customer up to the as-of date, and the mean VADER sentiment of their
-- comments and mentions.
with interactions as (
    select * from {{ ref('stg_social__interactions') }}
    where occurred_at < {{ as_of_end() }}
),

sentiment as (
    select * from {{ ref('stg_social__text_sentiment') }}
),

final as (
    select
        interactions.customer_id,
        sum(case when interactions.interaction_type = 'like' then 1 else 0 end) as likes_count,
        sum(case when interactions.interaction_type = 'share' then 1 else 0 end) as shares_count,
        sum(case when interactions.interaction_type = 'comment' then 1 else 0 end) as comments_count,
        sum(case when interactions.interaction_type = 'mention' then 1 else 0 end) as mentions_count,
        -- Averaged as fixed-point numbers so that the mean does not depend on row order.
        cast(
            avg(cast(sentiment.sentiment_compound as {{ dbt.type_numeric() }})) as {{ dbt.type_float() }}
        ) as avg_sentiment
    from interactions
    left join sentiment
        on interactions.text_md5 = sentiment.text_md5
    group by interactions.customer_id
)

select * from final
