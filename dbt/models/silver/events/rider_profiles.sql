-- Silver rider profiles: valid records, the first copy of every event_id, partitioned by event date.
-- depends_on: {{ ref('quarantine_rider_profiles') }}
with new_records as (
    select * from {{ ref('int_rider_profiles_validated') }}
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
    change_type,
    rider_id,
    full_name,
    email,
    phone,
    home_zone_id,
    payment_method,
    loyalty_tier,
    changed_fields,
    kafka_topic,
    kafka_partition,
    kafka_offset,
    ingestion_time,
    event_date
from copies
where copy_number = 1
