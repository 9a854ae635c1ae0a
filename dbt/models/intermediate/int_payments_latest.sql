-- One row per payment: its latest state (a failed charge may be retried under the same payment id).
with payments as (
    select * from {{ ref('payments') }}
),

ranked as (
    select
        *,
        row_number() over (partition by payment_id order by event_time desc, event_id desc) as recency
    from payments
)

select
    payment_id,
    trip_id,
    rider_id,
    driver_id,
    payment_method,
    status,
    fare_brl,
    platform_fee_brl,
    driver_payout_brl,
    surge_multiplier,
    event_id,
    event_time
from ranked
where recency = 1
