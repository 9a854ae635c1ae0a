-- Surge multiplier updates per zone and window: bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'surge') }}
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
        zone_id,
        surge_multiplier,
        previous_multiplier,
        cast(demand_count as {{ dbt.type_int() }}) as demand_count,
        cast(supply_count as {{ dbt.type_int() }}) as supply_count,
        window_start,
        window_end
    from source
)

select * from renamed
