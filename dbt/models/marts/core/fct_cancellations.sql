-- One row per trip that ended without a ride: cancelled by rider/driver/system, or no driver available.
with ended as (
    select
        *,
        coalesce(cancelled_at, no_drivers_at) as ended_at
    from {{ ref('int_trips_pivoted') }}
    where outcome in ('cancelled', 'no_drivers_available')
),

drivers as (
    select * from {{ ref('dim_driver') }}
),

riders as (
    select * from {{ ref('dim_rider') }}
)

select
    ended.trip_id,
    riders.rider_version_key,
    drivers.driver_version_key,
    ended.rider_id,
    ended.driver_id,
    ended.pickup_zone_id,
    {{ date_key('ended.ended_at') }} as date_key,
    {{ time_key('ended.ended_at') }} as time_key,
    ended.requested_at,
    ended.ended_at as cancelled_at,
    ended.outcome,
    coalesce(ended.cancelled_by, 'system') as cancelled_by,
    coalesce(ended.cancel_reason, ended.outcome) as cancel_reason,
    case
        when ended.assigned_at is null then 'before_assignment'
        when ended.arrived_at_pickup_at is null then 'en_route_to_pickup'
        when ended.ride_started_at is null then 'at_pickup'
        else 'in_transit'
    end as cancelled_phase,
    {{ seconds_between('ended.requested_at', 'ended.ended_at') }} as seconds_after_request,
    ended.offers_sent,
    ended.surge_multiplier
from ended
left join riders
    on {{ valid_version('riders', 'rider_id', 'ended.rider_id', 'ended.ended_at') }}
left join drivers
    on {{ valid_version('drivers', 'driver_id', 'ended.driver_id', 'ended.ended_at') }}
