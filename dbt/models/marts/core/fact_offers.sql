-- One row per offer of a trip to a driver, with its outcome (accepted, rejected, expired or unanswered).
with trip_events as (
    select * from {{ ref('stg_bronze__trip_events') }}
    where event_type in ('offer_sent', 'offer_rejected', 'offer_expired', 'driver_assigned')
),

offers as (
    select * from trip_events where event_type = 'offer_sent'
    qualify row_number() over (partition by trip_id, offer_sequence order by event_time, event_id) = 1
),

responses as (
    select
        trip_id,
        offer_sequence,
        case event_type when 'driver_assigned' then 'accepted' when 'offer_rejected' then 'rejected' else 'expired' end as outcome,
        event_time as responded_at
    from trip_events
    where event_type <> 'offer_sent'
    qualify row_number() over (partition by trip_id, offer_sequence order by event_time, event_id) = 1
)

select
    offers.trip_id || '#' || offers.offer_sequence as offer_id,
    offers.trip_id,
    offers.offer_sequence,
    driver.driver_version_key,
    offers.driver_id,
    offers.pickup_zone_id,
    {{ date_key('offers.event_time') }} as date_key,
    {{ time_key('offers.event_time') }} as time_key,
    offers.event_time as offered_at,
    offers.eta_seconds,
    offers.surge_multiplier,
    coalesce(responses.outcome, 'unanswered') as outcome,
    responses.responded_at,
    {{ seconds_between('offers.event_time', 'responses.responded_at') }} as response_s
from offers
left join responses
    on responses.trip_id = offers.trip_id and responses.offer_sequence = offers.offer_sequence
left join {{ ref('dim_driver') }} as driver
    on {{ valid_version('driver', 'driver_id', 'offers.driver_id', 'offers.event_time') }}
