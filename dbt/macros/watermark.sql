{#
  A boolean SQL filter for an incremental silver model: the bronze record lies past the offset
  watermark of its (Kafka topic, partition) in `relations` (the newest offset loaded there; bronze
  commits each partition's records in offset order, exactly once, so nothing below it is new), and in
  an event-date partition no older than `late_arrival_days` before the newest loaded event date (so
  the scan prunes bronze partitions). The watermark is inlined as constants, which both engines push
  into the Delta scan. A (topic, partition) not loaded yet is new in full.
#}
{% macro past_bronze_watermark(relations) %}
    {%- set loaded = relations | reject('none') | list -%}
    {%- set watermark_sql -%}
        select kafka_topic, kafka_partition, max(kafka_offset) as max_offset, max(event_date) as max_event_date
        from ({% for relation in loaded %}select kafka_topic, kafka_partition, kafka_offset, event_date from {{ relation }}{% if not loop.last %} union all {% endif %}{% endfor %}) as loaded
        group by kafka_topic, kafka_partition
    {%- endset -%}
    {%- set rows = run_query(watermark_sql).rows if execute else [] -%}
    {%- if rows | length == 0 -%}
        (1 = 1)
    {%- else -%}
        {%- set newest = rows | map(attribute='max_event_date') | max -%}
        {%- set earliest = newest - modules.datetime.timedelta(days=var('late_arrival_days') | int) -%}
        (event_date >= cast('{{ earliest.strftime("%Y-%m-%d") }}' as date)
         and case
            {%- for row in rows %}
            when kafka_topic = '{{ row[0] }}' and kafka_partition = {{ row[1] | int }} then kafka_offset > {{ row[2] | int }}
            {%- endfor %}
            else true
         end)
    {%- endif -%}
{% endmacro %}

{# Another model of this model's schema, without a ref (no DAG edge): none until it was built once. #}
{% macro lake_relation(identifier) %}
    {{ return(adapter.get_relation(database=this.database, schema=this.schema, identifier=identifier)) }}
{% endmacro %}
