-- Every bronze simulation control events record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__simulation_control_events') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when action is null then 'missing_action'
        end as invalid_reason
    from records
)

select * from checked
