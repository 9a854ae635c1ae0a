{#
  New bronze rows for an incremental silver model.

  Watermark: the newest ingestion_time already loaded (in this model, or also in `peer_relation`,
  a model of the same stream that ran in the previous build), minus `ingestion_lookback_minutes`
  so rows a bronze commit made visible late are still picked up. Partition pruning: only
  event-date partitions no older than `late_arrival_days` before the newest loaded event date.
  `key_columns` identify a row already in the model (an anti-join), so re-reading the lookback
  window never doubles a row.
#}
{% macro bronze_increment(table_name, key_columns, peer_relation=none) %}
    select src.*
    from {{ source('bronze', table_name) }} as src
    {% if is_incremental() %}
    {#- Constants, not subqueries: DuckDB pushes constant filters into the Arrow dataset scan of the
        Delta files (event_date prunes partitions, ingestion_time skips row groups by statistics). -#}
    {%- set loaded = [this] -%}
    {%- if peer_relation is not none and load_relation(peer_relation) is not none -%}{%- do loaded.append(peer_relation) -%}{%- endif -%}
    {%- set watermark_sql -%}
        select
            strftime(coalesce(max(ingestion_time), timestamptz '1970-01-01 00:00:00+00')
                     - interval {{ var('ingestion_lookback_minutes') | int }} minute, '%Y-%m-%d %H:%M:%S.%f+00'),
            strftime(coalesce(max(event_date), date '1970-01-01') - {{ var('late_arrival_days') | int }}, '%Y-%m-%d')
        from ({% for relation in loaded %}select ingestion_time, event_date from {{ relation }}{% if not loop.last %} union all {% endif %}{% endfor %})
    {%- endset -%}
    {%- set watermark = run_query(watermark_sql).rows[0] if execute else ['1970-01-01 00:00:00+00', '1970-01-01'] %}
    where src.ingestion_time >= timestamptz '{{ watermark[0] }}'
      and src.event_date >= date '{{ watermark[1] }}'
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
