-- The customer feature table (marts.customer_features) in one hand-written DuckDB statement over
-- the raw schema: the same cleaning, deduplication, currency conversion, attribution and as-of
-- windows as the dbt models, with their default vars (90-day windows, 30-minute sessions, 24 hours
-- of clock tolerance, eight categories). The practical lower bound for the feature models' time.
-- Parameter $as_of: the as-of date. Ties between duplicate customer records are broken on the
-- normalised contact data rather than on its keyed hash (DuckDB has no HMAC).
with
as_of as (
    select
        cast($as_of as date) as as_of_date,
        cast(cast($as_of as date) + interval 1 day as timestamp) as as_of_end,
        cast(cast($as_of as date) - interval 89 day as timestamp) as recent_start,
        cast(cast($as_of as date) - interval 179 day as timestamp) as previous_start
),

customers as (
    select * from (
        select
            trim(customer_id) as customer_id,
            birth_date,
            case
                when lower(trim(gender)) in ('f', 'female', 'woman') then 'female'
                when lower(trim(gender)) in ('m', 'male', 'man') then 'male'
                when lower(trim(gender)) in ('other', 'non-binary', 'nonbinary', 'x', 'diverse')
                    then 'other'
                else 'unknown'
            end as gender,
            coalesce(nullif(upper(trim(country)), ''), 'unknown') as country_code,
            signup_at,
            coalesce(marketing_consent, false) as has_marketing_consent,
            row_number() over (
                partition by trim(customer_id)
                order by
                    consent_updated_at desc nulls last, signup_at,
                    nullif(lower(trim(email)), ''),
                    nullif(lower(trim(regexp_replace(phone, '[^0-9+]', '', 'g'))), ''),
                    coalesce(marketing_consent, false)
            ) as row_rank
        from raw.customers
        where nullif(trim(customer_id), '') is not null
    )
    where
        row_rank = 1
        and (signup_at is null or signup_at < (select as_of_end from as_of))
        -- the default consent policy: only customers with marketing consent are profiled
        and has_marketing_consent
),

orders as (
    select * from (
        select
            trim(order_id) as order_id,
            trim(customer_id) as customer_id,
            ordered_at,
            lower(trim(status)) as status,
            upper(trim(currency)) as currency,
            row_number() over (
                partition by trim(order_id)
                order by
                    ordered_at desc, lower(trim(status)), trim(customer_id), upper(trim(currency)),
                    coalesce(nullif(lower(trim(channel)), ''), 'unknown')
            ) as row_rank
        from raw.orders
        where
            nullif(trim(order_id), '') is not null
            and nullif(trim(customer_id), '') is not null
            and ordered_at is not null
            and ordered_at <= _loaded_at + interval 24 hour
    )
    where row_rank = 1
),

order_lines as (
    select * from (
        select
            trim(order_id) as order_id,
            quantity,
            unit_price,
            coalesce(discount, 0) as discount,
            trim(product_id) as product_id,
            row_number() over (
                partition by trim(order_id), line_number
                order by trim(product_id), quantity, unit_price, coalesce(discount, 0)
            ) as row_rank
        from raw.order_items
        where
            nullif(trim(order_id), '') is not null
            and line_number is not null
            and quantity is not null
            and quantity <> 0
            and unit_price is not null
    )
    where row_rank = 1
),

products as (
    select product_id, category from (
        select
            trim(product_id) as product_id,
            coalesce(nullif(lower(trim(category)), ''), 'unknown') as category,
            row_number() over (
                partition by trim(product_id)
                order by trim(product_name), coalesce(nullif(lower(trim(category)), ''), 'unknown'),
                    list_price
            ) as row_rank
        from raw.products
        where nullif(trim(product_id), '') is not null
    )
    where row_rank = 1
),

valued_lines as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.status,
        order_lines.quantity < 0 as is_return_line,
        coalesce(products.category, 'unknown') as category,
        cast(abs(order_lines.quantity) * order_lines.unit_price * rates.rate_to_reporting
            as numeric(28, 6)) as list_amount,
        cast(abs(order_lines.quantity) * order_lines.unit_price * (1 - order_lines.discount)
            * rates.rate_to_reporting as numeric(28, 6)) as net_amount
    from order_lines
    inner join orders on order_lines.order_id = orders.order_id
    left join products on order_lines.product_id = products.product_id
    left join reference.currency_rates as rates on orders.currency = rates.currency
    where orders.status in ('completed', 'returned') and orders.ordered_at < (select as_of_end from as_of)
),

purchases as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        coalesce(lines.purchased_amount, 0) as purchased_amount,
        coalesce(lines.list_amount, 0) as list_amount,
        case
            when orders.status = 'returned' then coalesce(lines.purchased_amount, 0)
            else least(coalesce(lines.returned_line_amount, 0), coalesce(lines.purchased_amount, 0))
        end as returned_amount
    from orders
    left join (
        select
            order_id,
            sum(case when not is_return_line then net_amount else 0 end) as purchased_amount,
            sum(case when not is_return_line then list_amount else 0 end) as list_amount,
            sum(case when is_return_line then net_amount else 0 end) as returned_line_amount
        from valued_lines
        group by order_id
    ) as lines on orders.order_id = lines.order_id
    where orders.status in ('completed', 'returned') and orders.ordered_at < (select as_of_end from as_of)
),

customer_orders as (
    select
        customer_id,
        count(*) as orders_count,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        sum(list_amount) as list_amount,
        sum(purchased_amount) as purchased_amount,
        sum(returned_amount) as returned_amount,
        sum(purchased_amount - returned_amount) as net_amount,
        sum(list_amount - purchased_amount) as discount_amount,
        count(*) filter (where ordered_at >= (select recent_start from as_of)) as recent_orders_count,
        coalesce(sum(purchased_amount - returned_amount)
            filter (where ordered_at >= (select recent_start from as_of)), 0) as recent_net_amount,
        coalesce(sum(purchased_amount - returned_amount) filter (
            where ordered_at >= (select previous_start from as_of)
                and ordered_at < (select recent_start from as_of)
        ), 0) as previous_net_amount,
        count(*) filter (where extract(month from ordered_at) >= 10) / count(*) as q4_order_share,
        count(*) filter (where extract(isodow from ordered_at) in (6, 7)) / count(*)
            as weekend_order_share
    from purchases
    group by customer_id
),

category_mix as (
    select
        customer_id,
        sum(case when category = 'electronics' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_electronics,
        sum(case when category = 'fashion' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_fashion,
        sum(case when category = 'home' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_home,
        sum(case when category = 'beauty' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_beauty,
        sum(case when category = 'toys' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_toys,
        sum(case when category = 'sports' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_sports,
        sum(case when category = 'books' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_books,
        sum(case when category = 'grocery' then net_amount else 0 end) / nullif(sum(net_amount), 0)
            as category_share_grocery,
        sum(case when category not in (
            'electronics', 'fashion', 'home', 'beauty', 'toys', 'sports', 'books', 'grocery'
        ) then net_amount else 0 end) / nullif(sum(net_amount), 0) as category_share_other
    from valued_lines
    -- Without a product catalog, spend cannot be split: the shares stay null.
    where not is_return_line and exists (select 1 from products)
    group by customer_id
),

web_events as (
    select * from (
        select
            trim(event_id) as event_id,
            nullif(trim(customer_id), '') as customer_id,
            nullif(trim(anonymous_id), '') as anonymous_id,
            event_at,
            lower(trim(event_type)) as event_type,
            row_number() over (
                partition by trim(event_id)
                order by
                    event_at, nullif(trim(customer_id), ''), nullif(trim(anonymous_id), ''),
                    lower(trim(event_type)), page_path
            ) as row_rank
        from raw.web_events
        where
            nullif(trim(event_id), '') is not null
            and event_at is not null
            and event_at <= _loaded_at + interval 24 hour
    )
    where row_rank = 1
),

identities as (
    select anonymous_id, first(customer_id order by events desc, customer_id) as customer_id
    from (
        select anonymous_id, customer_id, count(*) as events
        from web_events
        where
            customer_id is not null and anonymous_id is not null
            and event_at < (select as_of_end from as_of)
        group by all
    )
    group by anonymous_id
),

sessions as (
    select
        customer_id,
        min(event_at) as started_at,
        date_diff('second', min(event_at), max(event_at)) as duration_seconds,
        count(*) filter (where event_type = 'page_view') as page_views_count,
        count(*) = 1 as is_bounce,
        bool_or(event_type = 'purchase') as has_purchase
    from (
        select
            *,
            sum(is_session_start) over (
                partition by customer_id order by event_at, event_id rows unbounded preceding
            ) as session_number
        from (
            select
                coalesce(web_events.customer_id, identities.customer_id) as customer_id,
                event_id,
                event_at,
                event_type,
                case
                    when date_diff(
                        'second',
                        lag(event_at) over (
                            partition by coalesce(web_events.customer_id, identities.customer_id)
                            order by event_at, event_id
                        ),
                        event_at
                    ) <= 30 * 60 then 0
                    else 1
                end as is_session_start
            from web_events
            left join identities on web_events.anonymous_id = identities.anonymous_id
            where
                event_at < (select as_of_end from as_of)
                and coalesce(web_events.customer_id, identities.customer_id) is not null
        )
    )
    group by customer_id, session_number
),

engagement as (
    select
        customer_id,
        count(*) as sessions_count,
        count(*) filter (where started_at >= (select recent_start from as_of)) as recent_sessions_count,
        avg(duration_seconds) as avg_session_seconds,
        avg(page_views_count) as pages_per_session,
        count(*) filter (where is_bounce) / count(*) as bounce_rate,
        count(*) filter (where has_purchase) / count(*) as site_conversion_rate
    from sessions
    group by customer_id
),

campaign_events as (
    select * from (
        select
            trim(customer_id) as customer_id,
            trim(campaign_id) as campaign_id,
            lower(trim(channel)) as channel,
            lower(trim(event_type)) as event_type,
            event_at,
            row_number() over (
                partition by trim(event_id)
                order by
                    event_at, trim(customer_id), trim(campaign_id), lower(trim(event_type)),
                    lower(trim(channel))
            ) as row_rank
        from raw.campaign_events
        where
            nullif(trim(event_id), '') is not null
            and nullif(trim(customer_id), '') is not null
            and nullif(trim(campaign_id), '') is not null
            and event_at is not null
            and event_at <= _loaded_at + interval 24 hour
    )
    where row_rank = 1 and event_at < (select as_of_end from as_of)
),

campaigns as (
    select
        customer_id,
        count(*) filter (where channel = 'email' and is_opened)
            / nullif(count(*) filter (where channel = 'email'), 0) as email_open_rate,
        count(*) filter (where is_clicked) / count(*) as click_through_rate,
        count(*) filter (where is_clicked and is_converted)
            / nullif(count(*) filter (where is_clicked), 0) as campaign_conversion_rate,
        count(*) as campaigns_received,
        count(*) filter (where channel = 'email') as emails_received,
        count(*) filter (where is_clicked) as campaign_clicks
    from (
        select
            customer_id,
            campaign_id,
            min(channel) filter (where event_type = 'send') as channel,
            bool_or(event_type = 'send') as is_sent,
            bool_or(event_type = 'open') as is_opened,
            bool_or(event_type = 'click') as is_clicked,
            bool_or(event_type = 'convert') as is_converted
        from campaign_events
        group by customer_id, campaign_id
    )
    where is_sent
    group by customer_id
),

social as (
    select
        interactions.customer_id,
        count(*) filter (where interaction_type = 'like') as likes_count,
        count(*) filter (where interaction_type = 'share') as shares_count,
        count(*) filter (where interaction_type = 'comment') as comments_count,
        count(*) filter (where interaction_type = 'mention') as mentions_count,
        cast(avg(cast(sentiment.sentiment_compound as numeric(28, 6))) as double) as avg_sentiment
    from (
        select * from (
            select
                trim(customer_id) as customer_id,
                lower(trim(interaction_type)) as interaction_type,
                case when nullif(trim(text), '') is not null then md5(text) end as text_md5,
                occurred_at,
                row_number() over (
                    partition by trim(interaction_id)
                    order by
                        occurred_at, trim(customer_id), lower(trim(interaction_type)),
                        coalesce(nullif(lower(trim(platform)), ''), 'unknown'),
                        case when nullif(trim(text), '') is not null then md5(text) end
                ) as row_rank
            from raw.social_interactions
            where
                nullif(trim(interaction_id), '') is not null
                and nullif(trim(customer_id), '') is not null
                and occurred_at is not null
                and occurred_at <= _loaded_at + interval 24 hour
        )
        where row_rank = 1 and occurred_at < (select as_of_end from as_of)
    ) as interactions
    left join enriched.text_sentiment as sentiment on interactions.text_md5 = sentiment.text_md5
    group by interactions.customer_id
),

observed as (
    select
        exists (select 1 from products) as has_products,
        exists (select 1 from web_events) as has_web_events,
        exists (
            select 1 from raw.social_interactions
            where
                nullif(trim(interaction_id), '') is not null
                and nullif(trim(customer_id), '') is not null
                and occurred_at is not null
                and occurred_at <= _loaded_at + interval 24 hour
        ) as has_social_interactions
)

select
    customers.customer_id,
    as_of.as_of_date,
    date_diff('day', cast(customer_orders.last_ordered_at as date), as_of.as_of_date) as recency_days,
    coalesce(customer_orders.orders_count, 0) as frequency,
    cast(coalesce(customer_orders.net_amount, 0) as double) as monetary,
    cast(customer_orders.net_amount as double) / nullif(customer_orders.orders_count, 0)
        as avg_order_value,
    date_diff(
        'day',
        cast(least(
            coalesce(customers.signup_at, customer_orders.first_ordered_at),
            coalesce(customer_orders.first_ordered_at, customers.signup_at)
        ) as date),
        as_of.as_of_date
    ) as tenure_days,
    coalesce(customer_orders.recent_orders_count, 0) as orders_last_90d,
    cast(customer_orders.recent_net_amount - customer_orders.previous_net_amount as double)
        / nullif(customer_orders.recent_net_amount + customer_orders.previous_net_amount, 0)
        as spend_trend,
    cast(customer_orders.returned_amount as double)
        / nullif(customer_orders.purchased_amount, 0) as return_rate,
    cast(customer_orders.discount_amount as double) / nullif(customer_orders.list_amount, 0)
        as discount_share,
    category_mix.* exclude (customer_id),
    customer_orders.q4_order_share,
    coalesce(
        ((92 * year(as_of.as_of_date) + least(greatest(date_diff('day', make_date(year(as_of.as_of_date), 10, 1), as_of.as_of_date), 0), 92))
            - (92 * year(first_seen.day) + least(greatest(date_diff('day', make_date(year(first_seen.day), 10, 1), first_seen.day), 0), 92)))
            / nullif(date_diff('day', first_seen.day, as_of.as_of_date), 0),
        case when month(first_seen.day) >= 10 then 1.0 else 0.0 end
    ) as q4_exposure_share,
    customer_orders.weekend_order_share,
    case when observed.has_web_events then coalesce(engagement.recent_sessions_count, 0) end
        as sessions_90d,
    case when observed.has_web_events then coalesce(engagement.sessions_count, 0) end
        as sessions,
    engagement.avg_session_seconds,
    engagement.pages_per_session,
    engagement.bounce_rate,
    engagement.site_conversion_rate,
    campaigns.email_open_rate,
    campaigns.click_through_rate,
    campaigns.campaign_conversion_rate,
    campaigns.campaigns_received,
    campaigns.emails_received,
    campaigns.campaign_clicks,
    case when observed.has_social_interactions then coalesce(social.likes_count, 0) end as likes,
    case when observed.has_social_interactions then coalesce(social.shares_count, 0) end as shares,
    case when observed.has_social_interactions then coalesce(social.comments_count, 0) end
        as comments,
    case when observed.has_social_interactions then coalesce(social.mentions_count, 0) end
        as mentions,
    social.avg_sentiment,
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
    customers.gender,
    customers.country_code as country
from (
    select
        *,
        date_part('year', (select as_of_date from as_of)) - date_part('year', birth_date)
        - case
            when strftime((select as_of_date from as_of), '%m%d') < strftime(birth_date, '%m%d')
                then 1
            else 0
        end as age_years
    from customers
) as customers
cross join as_of
cross join observed
left join customer_orders on customers.customer_id = customer_orders.customer_id
cross join lateral (
    select cast(least(
        coalesce(customers.signup_at, customer_orders.first_ordered_at),
        coalesce(customer_orders.first_ordered_at, customers.signup_at)
    ) as date) as day
) as first_seen
left join category_mix on customers.customer_id = category_mix.customer_id
left join engagement on customers.customer_id = engagement.customer_id
left join campaigns on customers.customer_id = campaigns.customer_id
left join social on customers.customer_id = social.customer_id
