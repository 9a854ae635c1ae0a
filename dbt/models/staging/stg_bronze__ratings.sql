-- Ratings given after completed trips (rider rates driver and driver rates rider): bronze columns renamed and cast, one row per bronze record.
with source as (
    select * from {{ source('bronze', 'ratings') }}
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
        rating_id,
        trip_id,
        rater_type,
        rater_id,
        ratee_id,
        cast(stars as {{ dbt.type_int() }}) as stars
    from source
)

select * from renamed
