-- Every bronze ratings record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__ratings') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when trip_id is null then 'missing_trip_id'
        when stars < {{ var('min_stars') }} or stars > {{ var('max_stars') }} then 'stars_out_of_range'
        end as invalid_reason
    from records
)

select * from checked
