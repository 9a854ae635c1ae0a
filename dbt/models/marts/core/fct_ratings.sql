-- One row per rating; the driver and rider involved are joined at their versions valid at rating time.
with ratings as (
    select
        *,
        case rater_type when 'rider' then ratee_id else rater_id end as rated_driver_id,
        case rater_type when 'rider' then rater_id else ratee_id end as rating_rider_id,
        row_number() over (partition by rating_id order by event_time, event_id) as arrival
    from {{ ref('ratings') }}
),

first_ratings as (
    select * from ratings where arrival = 1
),

drivers as (
    select * from {{ ref('dim_driver') }}
),

riders as (
    select * from {{ ref('dim_rider') }}
)

select
    first_ratings.rating_id,
    first_ratings.trip_id,
    first_ratings.rater_type,
    first_ratings.rater_id,
    first_ratings.ratee_id,
    drivers.driver_version_key,
    riders.rider_version_key,
    first_ratings.rated_driver_id as driver_id,
    first_ratings.rating_rider_id as rider_id,
    {{ date_key('first_ratings.event_time') }} as date_key,
    {{ time_key('first_ratings.event_time') }} as time_key,
    first_ratings.event_time as rated_at,
    first_ratings.stars
from first_ratings
left join drivers
    on {{ valid_version('drivers', 'driver_id', 'first_ratings.rated_driver_id', 'first_ratings.event_time') }}
left join riders
    on {{ valid_version('riders', 'rider_id', 'first_ratings.rating_rider_id', 'first_ratings.event_time') }}
