-- Silver trip events: valid records, the first copy of every event_id, partitioned by event date.
-- depends_on: {{ ref('quarantine_trip_events') }}
with new_records as (
    select * from {{ ref('int_trip_events_validated') }}
    where invalid_reason is null
    {% if is_incremental() %}
      and {{ past_bronze_watermark([this]) }}
    {% endif %}
),

copies as (
    select
        *,
        row_number() over (partition by event_id order by ingestion_time, kafka_partition, kafka_offset) as copy_number
    from new_records
)

select
    event_id,
    event_time,
    session_id,
    correlation_id,
    causation_id,
    event_type,
    trip_id,
    rider_id,
    driver_id,
    pickup_zone_id,
    dropoff_zone_id,
    pickup_lat,
    pickup_lon,
    dropoff_lat,
    dropoff_lon,
    surge_multiplier,
    fare_estimate_brl,
    fare_brl,
    route_distance_km,
    route_duration_s,
    offer_sequence,
    eta_s,
    cancelled_by,
    cancel_reason,
    kafka_topic,
    kafka_partition,
    kafka_offset,
    ingestion_time,
    event_date
from copies
where copy_number = 1
