-- Rider profile created/updated events, each with the full profile state: bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'rider_profiles') }}
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
        change_type,
        rider_id,
        full_name,
        email,
        phone,
        home_zone_id,
        payment_method,
        loyalty_tier,
        changed_fields
    from source
)

select * from renamed
