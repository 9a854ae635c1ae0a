-- One row per trip: the time of every lifecycle step, its final outcome and the facts of the completed ride.
with trip_events as (
    select * from {{ ref('trip_events') }}
),

pivoted as (
    select
        trip_id,
        min_by(rider_id, event_time) as rider_id,
        min_by(pickup_zone_id, event_time) as pickup_zone_id,
        min_by(dropoff_zone_id, event_time) as dropoff_zone_id,
        min_by(surge_multiplier, event_time) filter (where event_type = 'requested') as surge_multiplier,
        min_by(fare_estimate_brl, event_time) filter (where event_type = 'requested') as fare_estimate_brl,
        min(event_time) filter (where event_type = 'requested') as requested_at,
        min(event_time) filter (where event_type = 'offer_sent') as first_offer_at,
        max(event_time) filter (where event_type = 'driver_assigned') as assigned_at,
        max(event_time) filter (where event_type = 'at_pickup') as arrived_at_pickup_at,
        max(event_time) filter (where event_type = 'in_transit') as ride_started_at,
        max(event_time) filter (where event_type = 'completed') as completed_at,
        max(event_time) filter (where event_type = 'cancelled') as cancelled_at,
        max(event_time) filter (where event_type = 'no_drivers_available') as no_drivers_at,
        max_by(driver_id, event_time) filter (where event_type = 'driver_assigned') as assigned_driver_id,
        max_by(driver_id, event_time) filter (where event_type = 'completed') as completing_driver_id,
        max_by(fare_brl, event_time) filter (where event_type = 'completed') as fare_brl,
        max_by(route_distance_km, event_time) filter (where event_type = 'completed') as distance_km,
        max_by(route_duration_s, event_time) filter (where event_type = 'completed') as route_duration_s,
        max_by(cancelled_by, event_time) filter (where event_type = 'cancelled') as cancelled_by,
        max_by(cancel_reason, event_time) filter (where event_type = 'cancelled') as cancel_reason,
        count(*) filter (where event_type = 'offer_sent') as offers_sent
    from trip_events
    group by trip_id
),

outcomes as (
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
)

select * from outcomes
