-- Demand per pickup zone and hour of request: requests, outcomes, matching speed, surge and fares.
with trips as (
    select
        *,
        date_trunc('hour', requested_at) as hour_start
    from {{ ref('int_trips_pivoted') }}
    where requested_at is not null
)

select
    hour_start,
    {{ date_key('hour_start') }} as date_key,
    pickup_zone_id as zone_id,
    count(*) as requested_trips,
    count(*) filter (where outcome = 'completed') as completed_trips,
    count(*) filter (where outcome = 'cancelled') as cancelled_trips,
    count(*) filter (where outcome = 'no_drivers_available') as no_driver_trips,
    round(avg({{ seconds_between('requested_at', 'assigned_at') }}), 3) as avg_matching_s,
    round(avg(surge_multiplier), 6) as avg_surge_multiplier,
    round(coalesce(sum(fare_brl) filter (where outcome = 'completed'), 0), 2) as completed_fare_brl
from trips
group by hour_start, pickup_zone_id
