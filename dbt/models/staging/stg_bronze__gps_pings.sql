-- GPS pings of drivers and riders: bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'gps') }}
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
        entity_type,
        entity_id,
        lat,
        lon,
        heading_deg,
        speed_kmh,
        accuracy_m,
        trip_id,
        driver_status
    from source
)

select * from renamed
