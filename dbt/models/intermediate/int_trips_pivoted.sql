-- One row per trip: the time of every lifecycle step, its final outcome and the facts of the completed ride.
with trip_events as (
    select * from {{ ref('stg_bronze__trip_events') }}
),

pivoted as (
    select
        trip_id,
        arg_min(rider_id, event_time) as rider_id,
        arg_min(pickup_zone_id, event_time) as pickup_zone_id,
        arg_min(dropoff_zone_id, event_time) as dropoff_zone_id,
        arg_min(surge_multiplier, event_time) filter (where event_type = 'requested') as surge_multiplier,
        arg_min(fare_estimate_brl, event_time) filter (where event_type = 'requested') as fare_estimate_brl,
        min(event_time) filter (where event_type = 'requested') as requested_at,
        min(event_time) filter (where event_type = 'offer_sent') as first_offer_at,
        max(event_time) filter (where event_type = 'driver_assigned') as assigned_at,
        max(event_time) filter (where event_type = 'at_pickup') as arrived_at_pickup_at,
        max(event_time) filter (where event_type = 'in_transit') as ride_started_at,
        max(event_time) filter (where event_type = 'completed') as completed_at,
        max(event_time) filter (where event_type = 'cancelled') as cancelled_at,
        max(event_time) filter (where event_type = 'no_drivers_available') as no_drivers_at,
        arg_max(driver_id, event_time) filter (where event_type = 'driver_assigned') as assigned_driver_id,
        arg_max(driver_id, event_time) filter (where event_type = 'completed') as completing_driver_id,
        arg_max(fare_brl, event_time) filter (where event_type = 'completed') as fare_brl,
        arg_max(route_distance_km, event_time) filter (where event_type = 'completed') as distance_km,
        arg_max(route_duration_s, event_time) filter (where event_type = 'completed') as route_duration_s,
        arg_max(cancelled_by, event_time) filter (where event_type = 'cancelled') as cancelled_by,
        arg_max(cancel_reason, event_time) filter (where event_type = 'cancelled') as cancel_reason,
        count(*) filter (where event_type = 'offer_sent') as offers_sent
    from trip_events
    group by trip_id
)

select
    *,
    coalesce(completing_driver_id, assigned_driver_id) as driver_id,
    case
        when completed_at is not null then 'completed'
        when cancelled_at is not null then 'cancelled'
        when no_drivers_at is not null then 'no_drivers_available'
        else 'in_progress'
    end as outcome
from pivoted
