-- Platform revenue per day of payment: captured fares split into platform fee and driver payout.
-- Money is rounded to the centavo: a sum of doubles depends on the order rows are added in, a rounded one does not.
with payments as (
    select * from {{ ref('fct_payments') }}
)

select
    date_key,
    count(*) filter (where status = 'captured') as captured_payments,
    count(*) filter (where status = 'failed') as failed_payments,
    round(coalesce(sum(fare_brl) filter (where status = 'captured'), 0), 2) as gross_fare_brl,
    round(coalesce(sum(platform_fee_brl) filter (where status = 'captured'), 0), 2) as platform_fee_brl,
    round(coalesce(sum(driver_payout_brl) filter (where status = 'captured'), 0), 2) as driver_payout_brl,
    round(avg(fare_brl) filter (where status = 'captured'), 4) as avg_fare_brl
from payments
group by date_key
