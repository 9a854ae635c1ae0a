-- Every bronze surge updates record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__surge_updates') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when zone_id is null then 'missing_zone_id'
        when surge_multiplier < {{ var('min_surge_multiplier') }} or surge_multiplier > {{ var('surge_cap') }} then 'surge_out_of_range'
        when demand_count < 0 or supply_count < 0 then 'negative_count'
        when window_end < window_start then 'window_reversed'
        end as invalid_reason
    from records
)

select * from checked
