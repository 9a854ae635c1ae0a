-- Silver surge updates: valid records, the first copy of every event_id, partitioned by event date.
-- depends_on: {{ ref('quarantine_surge_updates') }}
with new_records as (
    select * from {{ ref('int_surge_updates_validated') }}
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
    zone_id,
    surge_multiplier,
    previous_multiplier,
    demand_count,
    supply_count,
    window_start,
    window_end,
    kafka_topic,
    kafka_partition,
    kafka_offset,
    ingestion_time,
    event_date
from copies
where copy_number = 1
