-- Payments of completed trips (captured or failed): bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'payments') }}
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
        payment_id,
        trip_id,
        rider_id,
        driver_id,
        payment_method,
        fare_brl,
        platform_fee_brl,
        driver_payout_brl,
        surge_multiplier,
        status
    from source
)

select * from renamed
