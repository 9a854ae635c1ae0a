-- Bronze gps pings records that failed validation, with the rule they broke and the raw Avro bytes.
with new_records as (
    select * from {{ ref('int_gps_pings_validated') }}
    where invalid_reason is not null
    {% if is_incremental() %}
      {#- The silver table's watermark too: it runs after this model in every build, so records at or
          below either watermark were classified already, and this never rescans a clean stream. -#}
      and {{ past_bronze_watermark([this, lake_relation('gps_pings')]) }}
    {% endif %}
)

select
    kafka_topic,
    kafka_partition,
    kafka_offset,
    kafka_key,
    event_id,
    event_time,
    invalid_reason,
    raw_avro,
    ingestion_time,
    event_date
from new_records
