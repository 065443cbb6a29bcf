-- Web sessions per customer as of the as-of date. Logged-out events are attributed through their
-- anonymous id to the customer seen most often with it; a gap of more than `session_gap_minutes`
-- starts a new session. Events that cannot be attributed are left out.
-- Incremental by customer (macros/per_customer_incremental.sql): a changed event rebuilds its
-- customer and every customer seen with its anonymous id, whose owner it may have changed.
-- depends_on: {{ source('web', 'web_events') }}
{{ config(**incremental_by_customer_config('session_id')) }}

-- Not materialized: an incremental build reads it several times, and DuckDB would otherwise copy
-- every event into a temporary result first (a daily build at 1M customers: 8.8 s -> 5.5 s).
with events_before_as_of as not materialized (
    select * from {{ ref('stg_web__events') }}
    where event_at < {{ as_of_end() }}
),

{% if is_incremental_by_customer() %}
changed as (
    {{ changed_event_owners(
        'events_before_as_of', ref('stg_web__events'), source('web', 'web_events'), 'event_id',
        ['customer_id', 'anonymous_id']
    ) }}
),

rebuilt_customers as (
    select customer_id from changed
    where customer_id is not null
    union
    select customer_id from events_before_as_of
    where
        customer_id is not null
        and anonymous_id in (select anonymous_id from changed)
),

-- The anonymous ids of rebuilt customers, whose owners are recounted from all their events.
shared_anonymous_ids as (
    select distinct anonymous_id from events_before_as_of
    where customer_id in (select customer_id from rebuilt_customers)
),

-- Also other customers' events with those ids: the sessions computed for them are dropped below.
events as (
    select * from events_before_as_of
    where
        customer_id in (select customer_id from rebuilt_customers)
        or anonymous_id in (select anonymous_id from shared_anonymous_ids)
),
{% else %}
events as (
    select * from events_before_as_of
),
{% endif %}

identity_candidates as (
    select
        anonymous_id,
        customer_id,
        count(*) as events_count
    from events
    where customer_id is not null and anonymous_id is not null
    group by anonymous_id, customer_id
),

identities as (
    {{ keep_first('identity_candidates', 'anonymous_id', 'events_count desc, customer_id') }}
),

attributed as (
    select
        events.event_id,
        coalesce(events.customer_id, identities.customer_id) as customer_id,
        events.event_at,
        events.event_type
    from events
    left join identities
        on events.anonymous_id = identities.anonymous_id
    where coalesce(events.customer_id, identities.customer_id) is not null
),

-- Sessions in one sort of the events: each event's number, its gap to the previous one and running
-- counts of page views and purchases. Sessions then follow from their first events alone (the next
-- session's first event ends them): a running sum of session starts over every event and a group by
-- session needed a second sort of all events and a group by over them. At 1M customers (25M
-- events), back to back on the same staged events: 44 and 39 CPU seconds -> 41 and 36; wall time
-- moved less than the host's noise.
ordered as (
    select
        customer_id,
        event_at,
        row_number() over customer_events as event_number,
        lag(event_at) over customer_events as previous_event_at,
        lag(event_at) over customer_events is null
        or {{ seconds_between('lag(event_at) over customer_events', 'event_at') }}
            > {{ var('session_gap_minutes') }} * 60 as is_session_start,
        lead(event_at) over customer_events is null as is_last_event,
        sum(case when event_type = 'page_view' then 1 else 0 end) over customer_events
            as page_views_through,
        sum(case when event_type = 'purchase' then 1 else 0 end) over customer_events
            as purchases_through,
        case when event_type = 'page_view' then 1 else 0 end as is_page_view,
        case when event_type = 'purchase' then 1 else 0 end as is_purchase
    from attributed
    window customer_events as (
        partition by customer_id order by event_at, event_id rows unbounded preceding
    )
),

boundaries as (
    select * from ordered
    where is_session_start or is_last_event
),

-- Each session's first event, with what the next session's first event says about where it ends:
-- the event before it (its number and time) and the running counts before it.
session_starts as (
    select
        customer_id,
        -- A running count (hugeint, as when sessions were numbered over every event).
        sum(1) over later_starts as session_number,
        event_number,
        event_at as started_at,
        page_views_through - is_page_view as page_views_before,
        purchases_through - is_purchase as purchases_before,
        lead(event_number) over later_starts as next_start_number,
        lead(previous_event_at) over later_starts as next_start_previous_event_at,
        lead(page_views_through - is_page_view) over later_starts as next_start_page_views_before,
        lead(purchases_through - is_purchase) over later_starts as next_start_purchases_before
    from boundaries
    where is_session_start
    window later_starts as (partition by customer_id order by event_number rows unbounded preceding)
),

-- The last session ends with the customer's last event.
last_events as (
    select
        customer_id,
        event_number + 1 as number_after,
        event_at,
        page_views_through,
        purchases_through
    from boundaries
    where is_last_event
),

session_bounds as (
    select
        session_starts.customer_id,
        session_starts.session_number,
        session_starts.started_at,
        coalesce(session_starts.next_start_previous_event_at, last_events.event_at) as ended_at,
        coalesce(session_starts.next_start_number, last_events.number_after)
            - session_starts.event_number as events_count,
        coalesce(session_starts.next_start_page_views_before, last_events.page_views_through)
            - session_starts.page_views_before as page_views_count,
        coalesce(session_starts.next_start_purchases_before, last_events.purchases_through)
            - session_starts.purchases_before as purchases_count
    from session_starts
    inner join last_events
        on session_starts.customer_id = last_events.customer_id
),

sessions as (
    select
        customer_id,
        {{ dbt.concat(['customer_id', "'-'", 'cast(session_number as varchar)']) }} as session_id,
        session_number,
        started_at,
        ended_at,
        {{ seconds_between('started_at', 'ended_at') }} as duration_seconds,
        events_count,
        page_views_count,
        events_count = 1 as is_bounce,
        purchases_count > 0 as has_purchase
    from session_bounds
),

final as (
    {{ per_customer_rows('sessions') }}
)

select * from final
