-- Per driver and day: trips, earnings, ratings received, offer acceptance and time online.
with trips as (
    select driver_id, completed_date_key as date_key, count(*) as completed_trips, round(sum(fare_brl), 2) as gross_fare_brl
    from {{ ref('fct_trips') }}
    group by driver_id, completed_date_key
),

payouts as (
    select driver_id, date_key, round(sum(driver_payout_brl), 2) as driver_payout_brl
    from {{ ref('fct_payments') }}
    where status = 'captured'
    group by driver_id, date_key
),

ratings as (
    select driver_id, date_key, avg(stars) as avg_rating_received, count(*) as ratings_received
    from {{ ref('fct_ratings') }}
    where rater_type = 'rider'
    group by driver_id, date_key
),

offers as (
    select driver_id, date_key, count(*) as offers_received, count(*) filter (where outcome = 'accepted') as offers_accepted
    from {{ ref('fct_offers') }}
    group by driver_id, date_key
),

activity as (
    select
        driver_id,
        date_key,
        round(sum(duration_s) filter (where status <> 'offline'), 3) as online_s,
        round(sum(duration_s) filter (where status = 'on_trip'), 3) as on_trip_s
    from {{ ref('fct_driver_activity') }}
    group by driver_id, date_key
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
left join trips on trips.driver_id = driver_days.driver_id and trips.date_key = driver_days.date_key
left join payouts on payouts.driver_id = driver_days.driver_id and payouts.date_key = driver_days.date_key
left join ratings on ratings.driver_id = driver_days.driver_id and ratings.date_key = driver_days.date_key
left join offers on offers.driver_id = driver_days.driver_id and offers.date_key = driver_days.date_key
left join activity on activity.driver_id = driver_days.driver_id and activity.date_key = driver_days.date_key
