-- Driver profile created/updated events, each with the full profile state: bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'driver_profiles') }}
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
        driver_id,
        full_name,
        email,
        phone,
        vehicle_make,
        vehicle_model,
        cast(vehicle_year as {{ dbt.type_int() }}) as vehicle_year,
        vehicle_color,
        license_plate,
        home_zone_id,
        shift_preference,
        changed_fields
    from source
)

select * from renamed
