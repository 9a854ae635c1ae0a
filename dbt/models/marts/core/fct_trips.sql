-- One row per completed trip, with the duration of each phase and the driver/rider versions valid at completion.
{{ config(partition_by=['completed_date_key']) }}

with trips as (
    select * from {{ ref('int_trips_pivoted') }}
    where outcome = 'completed'
),

payments as (
    select
        trip_id,
        payment_id,
        status as payment_status,
        row_number() over (partition by trip_id order by event_time desc, event_id desc) as recency
    from {{ ref('int_payments_latest') }}
),

latest_payments as (
    select trip_id, payment_id, payment_status from payments where recency = 1
),

drivers as (
    select * from {{ ref('dim_driver') }}
),

riders as (
    select * from {{ ref('dim_rider') }}
)

select
    trips.trip_id,
    drivers.driver_version_key,
    riders.rider_version_key,
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
    latest_payments.payment_id,
    latest_payments.payment_status
from trips
left join latest_payments on latest_payments.trip_id = trips.trip_id
left join drivers
    on {{ valid_version('drivers', 'driver_id', 'trips.driver_id', 'trips.completed_at') }}
left join riders
    on {{ valid_version('riders', 'rider_id', 'trips.rider_id', 'trips.completed_at') }}
