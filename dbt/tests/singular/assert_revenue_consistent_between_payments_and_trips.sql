-- Revenue consistency: every captured payment belongs to a completed trip and charges exactly
-- that trip's fare, and the two revenue totals (captured payments vs completed trips paid)
-- agree to the centavo. Returns one row per inconsistency.
with payments as (
    select trip_id, fare_brl, status from {{ ref('fct_payments') }}
),

trips as (
    select trip_id, fare_brl, payment_status from {{ ref('fct_trips') }}
),

per_trip as (
    select
        coalesce(payments.trip_id, trips.trip_id) as trip_id,
        payments.fare_brl as payment_fare_brl,
        trips.fare_brl as trip_fare_brl,
        case
            when trips.trip_id is null then 'captured payment without a completed trip'
            when round(payments.fare_brl, 2) <> round(trips.fare_brl, 2) then 'payment fare differs from trip fare'
        end as problem
    from payments
    left join trips on trips.trip_id = payments.trip_id
    where payments.status = 'captured'
),

totals as (
    select
        'all' as trip_id,
        (select round(sum(fare_brl), 2) from payments where status = 'captured') as payment_fare_brl,
        (select round(sum(fare_brl), 2) from trips where payment_status = 'captured') as trip_fare_brl
)

select trip_id, payment_fare_brl, trip_fare_brl, problem from per_trip where problem is not null
union all
select trip_id, payment_fare_brl, trip_fare_brl, 'captured revenue totals differ'
from totals
where coalesce(payment_fare_brl, 0) <> coalesce(trip_fare_brl, 0)
