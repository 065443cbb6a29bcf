-- Campaign funnel per customer up to the as-of date, counted in campaigns, not events: a campaign
-- is opened, clicked or converted when any such event follows its send. Reactions to campaigns
-- the customer was never sent are ignored, so every rate stays within [0, 1].
-- Incremental by customer (macros/per_customer_incremental.sql).
-- depends_on: {{ source('marketing', 'campaign_events') }}
{{ config(**incremental_by_customer_config('campaigns_received_count')) }}

-- Not materialized: an incremental build reads it several times, and DuckDB would otherwise copy
-- every event into a temporary result first (a daily build at 1M customers: 1.7 s -> 0.5 s).
with events_before_as_of as not materialized (
    select * from {{ ref('stg_marketing__campaign_events') }}
    where event_at < {{ as_of_end() }}
),

{% if is_incremental_by_customer() %}
rebuilt_customers as (
    select distinct customer_id from (
        {{ changed_event_owners(
            'events_before_as_of', ref('stg_marketing__campaign_events'),
            source('marketing', 'campaign_events'), 'event_id', ['customer_id']
        ) }}
    ) as changed
    where customer_id is not null
),

events as (
    select * from events_before_as_of
    where customer_id in (select customer_id from rebuilt_customers)
),
{% else %}
events as (
    select * from events_before_as_of
),
{% endif %}

sends as (
    select
        customer_id,
        campaign_id,
        min(channel) as channel
    from events
    where event_type = 'send'
    group by customer_id, campaign_id
),

reactions as (
    select
        customer_id,
        campaign_id,
        max(case when event_type = 'open' then 1 else 0 end) as is_opened,
        max(case when event_type = 'click' then 1 else 0 end) as is_clicked,
        max(case when event_type = 'convert' then 1 else 0 end) as is_converted
    from events
    group by customer_id, campaign_id
),

funnel as (
    select
        sends.customer_id,
        sends.channel,
        reactions.is_opened,
        reactions.is_clicked,
        reactions.is_clicked * reactions.is_converted as is_converted_after_click
    from sends
    inner join reactions
        on sends.customer_id = reactions.customer_id
        and sends.campaign_id = reactions.campaign_id
),

per_customer as (
    select
        customer_id,
        count(*) as campaigns_received_count,
        sum(case when channel = 'email' then 1 else 0 end) as emails_received_count,
        {{ ratio("sum(case when channel = 'email' then is_opened else 0 end)",
                 "sum(case when channel = 'email' then 1 else 0 end)") }} as email_open_rate,
        {{ ratio('sum(is_clicked)', 'count(*)') }} as click_through_rate,
        {{ ratio('sum(is_converted_after_click)', 'sum(is_clicked)') }} as campaign_conversion_rate
    from funnel
    group by customer_id
),

final as (
    {{ per_customer_rows('per_customer') }}
)

select * from final
