-- One row per rating; the driver and rider involved are joined at their versions valid at rating time.
with ratings as (
    select
        *,
        case rater_type when 'rider' then ratee_id else rater_id end as rated_driver_id,
        case rater_type when 'rider' then rater_id else ratee_id end as rider_id
    from {{ ref('stg_bronze__ratings') }}
    qualify row_number() over (partition by rating_id order by event_time, event_id) = 1
)

select
    ratings.rating_id,
    ratings.trip_id,
    ratings.rater_type,
    ratings.rater_id,
    ratings.ratee_id,
    driver.driver_version_key,
    rider.rider_version_key,
    ratings.rated_driver_id as driver_id,
    ratings.rider_id,
    {{ date_key('ratings.event_time') }} as date_key,
    {{ time_key('ratings.event_time') }} as time_key,
    ratings.event_time as rated_at,
    ratings.stars
from ratings
left join {{ ref('dim_driver') }} as driver
    on {{ valid_version('driver', 'driver_id', 'ratings.rated_driver_id', 'ratings.event_time') }}
left join {{ ref('dim_rider') }} as rider
    on {{ valid_version('rider', 'rider_id', 'ratings.rider_id', 'ratings.event_time') }}
