-- Web engagement per customer over all sessions up to the as-of date, and recent sessions.
with sessions as (
    select * from {{ ref('int_web_sessions') }}
),

final as (
    select
        customer_id,
        count(*) as sessions_count,
        sum(
            case when started_at >= {{ days_before_as_of_end(var('recent_window_days')) }} then 1 else 0 end
        ) as recent_sessions_count,
        avg(cast(duration_seconds as {{ dbt.type_float() }})) as avg_session_seconds,
        avg(cast(page_views_count as {{ dbt.type_float() }})) as pages_per_session,
        {{ ratio('sum(case when is_bounce then 1 else 0 end)', 'count(*)') }} as bounce_rate,
        {{ ratio('sum(case when has_purchase then 1 else 0 end)', 'count(*)') }} as site_conversion_rate
    from sessions
    group by customer_id
)

select * from final
