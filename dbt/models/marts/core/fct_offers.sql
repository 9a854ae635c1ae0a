-- One row per offer of a trip to a driver, with its outcome (accepted, rejected, expired or unanswered).
{{ config(partition_by=['date_key']) }}

with trip_events as (
    select * from {{ ref('trip_events') }}
    where event_type in ('offer_sent', 'offer_rejected', 'offer_expired', 'driver_assigned')
),

ordered as (
    select
        *,
        row_number() over (partition by trip_id, offer_sequence, event_type = 'offer_sent' order by event_time, event_id) as arrival
    from trip_events
),

offers as (
    select * from ordered where event_type = 'offer_sent' and arrival = 1
),

responses as (
    select
        trip_id,
        offer_sequence,
        case event_type when 'driver_assigned' then 'accepted' when 'offer_rejected' then 'rejected' else 'expired' end as outcome,
        event_time as responded_at
    from ordered
    where event_type <> 'offer_sent' and arrival = 1
),

drivers as (
    select * from {{ ref('dim_driver') }}
)

select
    concat(offers.trip_id, '#', cast(offers.offer_sequence as {{ dbt.type_string() }})) as offer_id,
    offers.trip_id,
    offers.offer_sequence,
    drivers.driver_version_key,
    offers.driver_id,
    offers.pickup_zone_id,
    {{ date_key('offers.event_time') }} as date_key,
    {{ time_key('offers.event_time') }} as time_key,
    offers.event_time as offered_at,
    offers.eta_s,
    offers.surge_multiplier,
    coalesce(responses.outcome, 'unanswered') as outcome,
    responses.responded_at,
    {{ seconds_between('offers.event_time', 'responses.responded_at') }} as response_s
from offers
left join responses
    on responses.trip_id = offers.trip_id and responses.offer_sequence = offers.offer_sequence
left join drivers
    on {{ valid_version('drivers', 'driver_id', 'offers.driver_id', 'offers.event_time') }}
