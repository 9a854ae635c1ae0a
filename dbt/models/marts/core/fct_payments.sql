-- One row per payment (its latest state), with the driver/rider versions valid at payment time.
with payments as (
    select * from {{ ref('int_payments_latest') }}
),

drivers as (
    select * from {{ ref('dim_driver') }}
),

riders as (
    select * from {{ ref('dim_rider') }}
)

select
    payments.payment_id,
    payments.trip_id,
    drivers.driver_version_key,
    riders.rider_version_key,
    payments.driver_id,
    payments.rider_id,
    {{ date_key('payments.event_time') }} as date_key,
    {{ time_key('payments.event_time') }} as time_key,
    payments.event_time as paid_at,
    payments.payment_method,
    payments.status,
    payments.fare_brl,
    payments.platform_fee_brl,
    payments.driver_payout_brl,
    payments.surge_multiplier
from payments
left join drivers
    on {{ valid_version('drivers', 'driver_id', 'payments.driver_id', 'payments.event_time') }}
left join riders
    on {{ valid_version('riders', 'rider_id', 'payments.rider_id', 'payments.event_time') }}
