-- Trip lifecycle events (requested, offers, assignment, pickup, ride, completion, cancellation): bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'trips') }}
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
        event_type,
        trip_id,
        rider_id,
        driver_id,
        pickup_zone_id,
        dropoff_zone_id,
        pickup_lat,
        pickup_lon,
        dropoff_lat,
        dropoff_lon,
        surge_multiplier,
        fare_estimate_brl,
        fare_brl,
        route_distance_km,
        route_duration_s,
        cast(offer_sequence as {{ dbt.type_int() }}) as offer_sequence,
        eta_seconds as eta_s,
        cancelled_by,
        cancel_reason
    from source
)

select * from renamed
