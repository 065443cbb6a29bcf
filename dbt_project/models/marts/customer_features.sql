-- One row per customer known on the as-of date: the features segmentation models train on.
-- Counts are zero when nothing happened; rates and averages are null when their denominator is
-- zero (nothing was observed), never a zero that pretends to be data. A source that was not
-- provided at all (an empty raw table, e.g. no web analytics in a user's exports) leaves its
-- features null for everyone, counts and category shares included.
with customers as (
    select * from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('int_customer_orders') }}
),

seasonality as (
    select * from {{ ref('int_customer_seasonality') }}
),

category_mix as (
    select * from {{ ref('int_customer_category_mix') }}
),

engagement as (
    select * from {{ ref('int_customer_engagement') }}
),

campaigns as (
    select * from {{ ref('int_customer_campaigns') }}
),

social as (
    select * from {{ ref('int_customer_social') }}
),

observed as (
    select
        exists (select 1 from {{ ref('stg_shop__products') }}) as has_products,
        exists (select 1 from {{ ref('stg_web__events') }}) as has_web_events,
        exists (select 1 from {{ ref('stg_social__interactions') }}) as has_social_interactions
),

joined as (
    select
        customers.customer_id,
        customers.age_band,
        customers.gender,
        customers.country_code,
        cast(
            least(
                coalesce(customers.signup_at, orders.first_ordered_at),
                coalesce(orders.first_ordered_at, customers.signup_at)
            ) as date
        ) as first_seen_date,
        cast(orders.last_ordered_at as date) as last_order_date,
        orders.orders_count,
        orders.net_amount,
        orders.purchased_amount,
        orders.returned_amount,
        orders.list_amount,
        orders.discount_amount,
        orders.recent_orders_count,
        orders.recent_net_amount,
        orders.previous_net_amount,
        seasonality.q4_order_share,
        seasonality.weekend_order_share,
        {% for category in var('product_categories') %}
        category_mix.category_share_{{ category }},
        {% endfor %}
        category_mix.category_share_other,
        engagement.sessions_count,
        engagement.recent_sessions_count,
        engagement.avg_session_seconds,
        engagement.pages_per_session,
        engagement.bounce_rate,
        engagement.site_conversion_rate,
        campaigns.email_open_rate,
        campaigns.click_through_rate,
        campaigns.campaign_conversion_rate,
        campaigns.campaigns_received_count,
        campaigns.emails_received_count,
        social.likes_count,
        social.shares_count,
        social.comments_count,
        social.mentions_count,
        social.avg_sentiment,
        observed.*
    from customers
    cross join observed
    left join orders on customers.customer_id = orders.customer_id
    left join seasonality on customers.customer_id = seasonality.customer_id
    left join category_mix on customers.customer_id = category_mix.customer_id
    left join engagement on customers.customer_id = engagement.customer_id
    left join campaigns on customers.customer_id = campaigns.customer_id
    left join social on customers.customer_id = social.customer_id
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        cast({{ dbt.datediff('last_order_date', as_of_date(), 'day') }} as integer) as recency_days,
        cast(coalesce(orders_count, 0) as integer) as frequency,
        cast(coalesce(net_amount, 0) as {{ dbt.type_float() }}) as monetary,
        {{ ratio('net_amount', 'orders_count') }} as avg_order_value,
        cast({{ dbt.datediff('first_seen_date', as_of_date(), 'day') }} as integer) as tenure_days,
        cast(coalesce(recent_orders_count, 0) as integer) as orders_last_90d,
        {{ ratio('recent_net_amount - previous_net_amount', 'recent_net_amount + previous_net_amount') }}
            as spend_trend,
        {{ ratio('returned_amount', 'purchased_amount') }} as return_rate,
        {{ ratio('discount_amount', 'list_amount') }} as discount_share,
        {% for category in var('product_categories') %}
        case when has_products then category_share_{{ category }} end
            as category_share_{{ category }},
        {% endfor %}
        case when has_products then category_share_other end as category_share_other,
        q4_order_share,
        coalesce(
            {{ ratio(q4_days_before(as_of_date()) ~ ' - ' ~ q4_days_before('first_seen_date'), dbt.datediff('first_seen_date', as_of_date(), 'day')) }},
            case when extract(month from first_seen_date) >= 10 then 1.0 else 0.0 end
        ) as q4_exposure_share,
        weekend_order_share,
        {{ count_if_observed('recent_sessions_count', 'has_web_events') }} as sessions_90d,
        {{ count_if_observed('sessions_count', 'has_web_events') }} as sessions,
        avg_session_seconds,
        pages_per_session,
        bounce_rate,
        site_conversion_rate,
        email_open_rate,
        click_through_rate,
        campaign_conversion_rate,
        cast(campaigns_received_count as integer) as campaigns_received,
        cast(emails_received_count as integer) as emails_received,
        -- The intermediate model keeps rates, not clicks: clicks are the rate times the sends.
        cast(round(click_through_rate * campaigns_received_count) as integer) as campaign_clicks,
        {{ count_if_observed('likes_count', 'has_social_interactions') }} as likes,
        {{ count_if_observed('shares_count', 'has_social_interactions') }} as shares,
        {{ count_if_observed('comments_count', 'has_social_interactions') }} as comments,
        {{ count_if_observed('mentions_count', 'has_social_interactions') }} as mentions,
        avg_sentiment,
        age_band,
        gender,
        country_code as country
    from joined
)

select * from final
