-- Every bronze driver profiles record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__driver_profiles') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when driver_id is null then 'missing_driver_id'
        when vehicle_year < 1980 or vehicle_year > 2100 then 'vehicle_year_out_of_range'
        end as invalid_reason
    from records
)

select * from checked
