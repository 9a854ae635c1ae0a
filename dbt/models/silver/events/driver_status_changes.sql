-- Silver driver status changes: valid records, the first copy of every event_id, partitioned by event date.
-- depends_on: {{ ref('quarantine_driver_status_changes') }}
with new_records as (
    select * from {{ ref('int_driver_status_changes_validated') }}
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
    driver_id,
    previous_status,
    new_status,
    reason,
    zone_id,
    driver_lat,
    driver_lon,
    trip_id,
    kafka_topic,
    kafka_partition,
    kafka_offset,
    ingestion_time,
    event_date
from copies
where copy_number = 1
