-- Simulation run-state changes (start, pause, speed, stop): bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'sim_control') }}
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
        action,
        speed,
        cast(drivers as {{ dbt.type_int() }}) as drivers,
        cast(riders as {{ dbt.type_int() }}) as riders,
        cast(seed as {{ dbt.type_bigint() }}) as seed,
        detail
    from source
)

select * from renamed
