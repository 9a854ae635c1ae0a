-- Silver driver profiles: valid records, the first copy of every event_id, partitioned by event date.
-- depends_on: {{ ref('quarantine_driver_profiles') }}
with new_records as (
    select * from {{ ref('int_driver_profiles_validated') }}
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
    driver_id,
    full_name,
    email,
    phone,
    vehicle_make,
    vehicle_model,
    vehicle_year,
    vehicle_color,
    license_plate,
    home_zone_id,
    shift_preference,
    changed_fields,
    kafka_topic,
    kafka_partition,
    kafka_offset,
    ingestion_time,
    event_date
from copies
where copy_number = 1
