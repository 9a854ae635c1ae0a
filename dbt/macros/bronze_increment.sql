{#
  New bronze rows for an incremental silver model: rows ingested at or after the model's own
  ingestion watermark, pruned to event-date partitions no older than `late_arrival_days` before the
  newest event date already loaded. `key_columns` are the columns that identify a row already in
  the model (an anti-join), so re-reading the watermark's own batch never doubles a row.
#}
{% macro bronze_increment(table_name, key_columns) %}
    select src.*
    from {{ source('bronze', table_name) }} as src
    {% if is_incremental() %}
    where src.ingestion_time >= (select coalesce(max(ingestion_time), timestamptz '1970-01-01 00:00:00+00') from {{ this }})
      and src.event_date >= (
          select coalesce(max(event_date), date '1970-01-01') - {{ var('late_arrival_days') | int }} from {{ this }})
      and not exists (
          select 1 from {{ this }} as loaded
          where {% for column in key_columns %}loaded.{{ column }} = src.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %})
    {% endif %}
{% endmacro %}

{# Keep the first copy of every event id (bronze holds re-sent events more than once). #}
{% macro first_per_event_id() %}
    qualify row_number() over (partition by event_id order by ingestion_time, kafka_partition, kafka_offset) = 1
{% endmacro %}

{# Lineage columns every silver row keeps from bronze. #}
{% macro bronze_lineage() %}
    kafka_topic, kafka_partition, kafka_offset, ingestion_time, event_date
{% endmacro %}

{# True when a latitude/longitude pair lies inside the configured São Paulo bounding box. #}
{% macro in_sao_paulo(lat, lon) %}
    ({{ lat }} between {{ var('min_lat') }} and {{ var('max_lat') }} and {{ lon }} between {{ var('min_lon') }} and {{ var('max_lon') }})
{% endmacro %}

{# The date and minute-of-day keys that join dim_date and dim_time. #}
{% macro date_key(ts) %}cast(strftime(({{ ts }}) at time zone 'UTC', '%Y%m%d') as integer){% endmacro %}
{% macro time_key(ts) %}(extract(hour from ({{ ts }}) at time zone 'UTC') * 100 + extract(minute from ({{ ts }}) at time zone 'UTC'))::integer{% endmacro %}

{# Seconds between two timestamps (null when either is null). #}
{% macro seconds_between(start_ts, end_ts) %}(date_diff('millisecond', {{ start_ts }}, {{ end_ts }}) / 1000.0){% endmacro %}
