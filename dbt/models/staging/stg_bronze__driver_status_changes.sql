-- Driver availability changes: bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'driver_status') }}
),

renamed as (
    select
        kafka_topic,
        cast(kafka_partition as {{ dbt.type_int() }}) as kafka_partition,
        kafka_offset,
        kafka_key,
        kafka_timestamp,
        raw_value as raw_avro,
        ingestion_time,
        event_date,
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
        trip_id
    from source
)

select * from renamed
