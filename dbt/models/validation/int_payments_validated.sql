-- Every bronze payments record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__payments') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when payment_id is null or trip_id is null then 'missing_id'
        when fare_brl < 0 or platform_fee_brl < 0 or driver_payout_brl < 0 then 'negative_fare'
        when fare_brl > {{ var('max_fare_brl') }} then 'fare_above_max'
        when abs(platform_fee_brl + driver_payout_brl - fare_brl) > 0.011 then 'split_does_not_add_up'
        when surge_multiplier < {{ var('min_surge_multiplier') }} or surge_multiplier > {{ var('surge_cap') }} then 'surge_out_of_range'
        end as invalid_reason
    from records
)

select * from checked
