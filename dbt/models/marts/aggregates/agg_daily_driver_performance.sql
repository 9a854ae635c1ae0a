-- Per driver and day: trips, earnings, ratings received, offer acceptance and time online.
with trips as (
    select driver_id, completed_date_key as date_key, count(*) as completed_trips, sum(fare_brl) as gross_fare_brl
    from {{ ref('fact_trips') }} group by all
),

payouts as (
    select driver_id, date_key, sum(driver_payout_brl) as driver_payout_brl
    from {{ ref('fact_payments') }} where status = 'captured' group by all
),

ratings as (
    select driver_id, date_key, avg(stars) as avg_rating_received, count(*) as ratings_received
    from {{ ref('fact_ratings') }} where rater_type = 'rider' group by all
),

offers as (
    select driver_id, date_key, count(*) as offers_received, count(*) filter (where outcome = 'accepted') as offers_accepted
    from {{ ref('fact_offers') }} group by all
),

activity as (
    select
        driver_id, date_key,
        sum(duration_s) filter (where status <> 'offline') as online_s,
        sum(duration_s) filter (where status = 'on_trip') as on_trip_s
    from {{ ref('fact_driver_activity') }} group by all
),

driver_days as (
    select driver_id, date_key from trips
    union select driver_id, date_key from payouts
    union select driver_id, date_key from ratings
    union select driver_id, date_key from offers
    union select driver_id, date_key from activity
)

select
    driver_days.driver_id,
    driver_days.date_key,
    coalesce(trips.completed_trips, 0) as completed_trips,
    coalesce(trips.gross_fare_brl, 0) as gross_fare_brl,
    coalesce(payouts.driver_payout_brl, 0) as driver_payout_brl,
    ratings.avg_rating_received,
    coalesce(ratings.ratings_received, 0) as ratings_received,
    coalesce(offers.offers_received, 0) as offers_received,
    coalesce(offers.offers_accepted, 0) as offers_accepted,
    offers.offers_accepted / nullif(offers.offers_received, 0) as acceptance_rate,
    coalesce(activity.online_s, 0) as online_s,
    coalesce(activity.on_trip_s, 0) as on_trip_s
from driver_days
left join trips using (driver_id, date_key)
left join payouts using (driver_id, date_key)
left join ratings using (driver_id, date_key)
left join offers using (driver_id, date_key)
left join activity using (driver_id, date_key)
