-- Social interactions. The text is replaced by its MD5, the key of its sentiment score, so that
-- free text (which may hold personal data) stays in the raw schema.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='interaction_id',
        on_schema_change='fail'
    )
}}

-- Not materialized: the deduplication reads the cleaned rows twice (macros/keep_first.sql).
with source as not materialized (
    {{ newly_loaded_rows(source('social', 'social_interactions'), 'trim(interaction_id)') }}
),

cleaned as not materialized (
    select
        trim(interaction_id) as interaction_id,
        trim(customer_id) as customer_id,
        coalesce(nullif(lower(trim(platform)), ''), 'unknown') as platform,
        lower(trim(interaction_type)) as interaction_type,
        case when nullif(trim(text), '') is not null then {{ dbt.hash('text') }} end as text_md5,
        occurred_at,
        _loaded_at,
        _raw_row_id
    from source
    where
        nullif(trim(interaction_id), '') is not null
        and nullif(trim(customer_id), '') is not null
        and occurred_at is not null
        and {{ is_not_in_future('occurred_at') }}
),

deduplicated as (
    {{ keep_first_raw_row(
        'cleaned',
        'interaction_id',
        'occurred_at, customer_id, interaction_type, platform, text_md5'
    ) }}
),

final as (
    select
        interaction_id,
        customer_id,
        platform,
        interaction_type,
        text_md5,
        occurred_at,
        _loaded_at,
        {{ transformed_at() }} as _transformed_at
    from deduplicated
)

select * from final
