-- Every bronze rider profiles record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__rider_profiles') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when rider_id is null then 'missing_rider_id'
        end as invalid_reason
    from records
)

select * from checked
