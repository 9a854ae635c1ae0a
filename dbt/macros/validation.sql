{# Rules every event shares: the first reason a record is invalid (a CASE branch list). #}
{% macro envelope_invalid_reason() %}
        when event_id is null then 'missing_event_id'
        when event_time is null then 'missing_event_time'
{% endmacro %}

{# True when a latitude/longitude pair lies inside the service area (the bronze contract's box). #}
{% macro in_service_area(lat, lon) -%}
    ({{ lat }} between {{ var('min_lat') }} and {{ var('max_lat') }} and {{ lon }} between {{ var('min_lon') }} and {{ var('max_lon') }})
{%- endmacro %}
