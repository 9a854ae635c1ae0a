-- One row per completed trip, with the duration of each phase and the driver/rider versions valid at completion.
with trips as (
    select * from {{ ref('int_trips_pivoted') }} where outcome = 'completed'
),

payments as (
    select trip_id, payment_id, status as payment_status
    from {{ ref('int_payments_latest') }}
    qualify row_number() over (partition by trip_id order by event_time desc, event_id desc) = 1
)

select
    trips.trip_id,
    driver.driver_version_key,
    rider.rider_version_key,
    trips.driver_id,
    trips.rider_id,
    trips.pickup_zone_id,
    trips.dropoff_zone_id,
    {{ date_key('trips.requested_at') }} as requested_date_key,
    {{ date_key('trips.completed_at') }} as completed_date_key,
    {{ time_key('trips.completed_at') }} as completed_time_key,
    trips.requested_at,
    trips.assigned_at,
    trips.arrived_at_pickup_at,
    trips.ride_started_at,
    trips.completed_at,
    {{ seconds_between('trips.requested_at', 'trips.assigned_at') }} as matching_s,
    {{ seconds_between('trips.assigned_at', 'trips.arrived_at_pickup_at') }} as pickup_s,
    {{ seconds_between('trips.arrived_at_pickup_at', 'trips.ride_started_at') }} as boarding_s,
    {{ seconds_between('trips.ride_started_at', 'trips.completed_at') }} as ride_s,
    {{ seconds_between('trips.requested_at', 'trips.completed_at') }} as total_s,
    trips.offers_sent,
    trips.surge_multiplier,
    trips.fare_estimate_brl,
    trips.fare_brl,
    trips.distance_km,
    payments.payment_id,
    payments.payment_status
from trips
left join payments on payments.trip_id = trips.trip_id
left join {{ ref('dim_driver') }} as driver
    on {{ valid_version('driver', 'driver_id', 'trips.driver_id', 'trips.completed_at') }}
left join {{ ref('dim_rider') }} as rider
    on {{ valid_version('rider', 'rider_id', 'trips.rider_id', 'trips.completed_at') }}
