-- Every bronze trip events record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__trip_events') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when trip_id is null then 'missing_trip_id'
        when rider_id is null then 'missing_rider_id'
        when fare_brl < 0 or fare_estimate_brl < 0 then 'negative_fare'
        when fare_brl > {{ var('max_fare_brl') }} then 'fare_above_max'
        when event_type = 'completed' and fare_brl is null then 'completed_without_fare'
        when event_type in ('offer_sent', 'offer_expired', 'offer_rejected', 'driver_assigned')
             and (driver_id is null or offer_sequence is null) then 'offer_without_driver'
        when surge_multiplier < {{ var('min_surge_multiplier') }} or surge_multiplier > {{ var('surge_cap') }} then 'surge_out_of_range'
        when route_distance_km < 0 or route_duration_s < 0 then 'negative_route'
        when not {{ in_service_area('pickup_lat', 'pickup_lon') }} or not {{ in_service_area('dropoff_lat', 'dropoff_lon') }} then 'coordinates_outside_area'
        end as invalid_reason
    from records
)

select * from checked
