-- Every bronze driver status changes record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__driver_status_changes') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when driver_id is null then 'missing_driver_id'
        when new_status is null then 'missing_status'
        end as invalid_reason
    from records
)

select * from checked
