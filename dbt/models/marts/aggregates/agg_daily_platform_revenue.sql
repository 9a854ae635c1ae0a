-- Platform revenue per day of payment: captured fares split into platform fee and driver payout.
with payments as (
    select * from {{ ref('fct_payments') }}
)

select
    date_key,
    count(*) filter (where status = 'captured') as captured_payments,
    count(*) filter (where status = 'failed') as failed_payments,
    coalesce(sum(fare_brl) filter (where status = 'captured'), 0) as gross_fare_brl,
    coalesce(sum(platform_fee_brl) filter (where status = 'captured'), 0) as platform_fee_brl,
    coalesce(sum(driver_payout_brl) filter (where status = 'captured'), 0) as driver_payout_brl,
    avg(fare_brl) filter (where status = 'captured') as avg_fare_brl
from payments
group by date_key
