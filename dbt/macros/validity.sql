{#
  One macro per bronze stream: the first reason a row is invalid, or null when it is valid.
  Staging keeps the valid rows; the matching quarantine model keeps the others with this reason.
#}
{% macro envelope_invalid_reason() %}
    when event_id is null then 'missing_event_id'
    when event_time is null then 'missing_event_time'
{% endmacro %}

{% macro trip_event_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when trip_id is null then 'missing_trip_id'
        when rider_id is null then 'missing_rider_id'
        when fare_brl < 0 or fare_estimate_brl < 0 then 'negative_fare'
        when fare_brl > {{ var('max_fare_brl') }} then 'fare_above_max'
        when event_type = 'completed' and fare_brl is null then 'completed_without_fare'
        when event_type in ('offer_sent', 'offer_expired', 'offer_rejected', 'driver_assigned')
             and (driver_id is null or offer_sequence is null) then 'offer_without_driver'
        when surge_multiplier < 1.0 or surge_multiplier > {{ var('surge_cap') }} then 'surge_out_of_range'
        when route_distance_km < 0 or route_duration_s < 0 then 'negative_route'
        when not {{ in_sao_paulo('pickup_lat', 'pickup_lon') }} or not {{ in_sao_paulo('dropoff_lat', 'dropoff_lon') }} then 'coordinates_outside_area'
    end
{% endmacro %}

{% macro gps_ping_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when entity_id is null then 'missing_entity_id'
        when not {{ in_sao_paulo('lat', 'lon') }} then 'coordinates_outside_area'
        when speed_kmh < 0 or speed_kmh > 250 then 'speed_out_of_range'
        when heading_deg < 0 or heading_deg > 360 then 'heading_out_of_range'
        when accuracy_m < 0 then 'negative_accuracy'
    end
{% endmacro %}

{% macro driver_status_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when driver_id is null then 'missing_driver_id'
        when new_status is null then 'missing_status'
    end
{% endmacro %}

{% macro surge_update_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when zone_id is null then 'missing_zone_id'
        when surge_multiplier < 1.0 or surge_multiplier > {{ var('surge_cap') }} then 'surge_out_of_range'
        when demand_count < 0 or supply_count < 0 then 'negative_count'
        when window_end < window_start then 'window_reversed'
    end
{% endmacro %}

{% macro rating_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when trip_id is null then 'missing_trip_id'
        when stars < 1 or stars > 5 then 'stars_out_of_range'
    end
{% endmacro %}

{% macro payment_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when payment_id is null or trip_id is null then 'missing_id'
        when fare_brl < 0 or platform_fee_brl < 0 or driver_payout_brl < 0 then 'negative_fare'
        when fare_brl > {{ var('max_fare_brl') }} then 'fare_above_max'
        when abs(platform_fee_brl + driver_payout_brl - fare_brl) > 0.011 then 'split_does_not_add_up'
        when surge_multiplier < 1.0 or surge_multiplier > {{ var('surge_cap') }} then 'surge_out_of_range'
    end
{% endmacro %}

{% macro driver_profile_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when driver_id is null then 'missing_driver_id'
        when vehicle_year < 1980 or vehicle_year > 2100 then 'vehicle_year_out_of_range'
    end
{% endmacro %}

{% macro rider_profile_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when rider_id is null then 'missing_rider_id'
    end
{% endmacro %}

{% macro simulation_control_invalid_reason() %}
    case {{ envelope_invalid_reason() }}
        when action is null then 'missing_action'
    end
{% endmacro %}

{#
  Body of a staging model: new bronze rows of `table_name` that pass `reason_macro`, first copy
  per event id, with the given typed `columns` and the lineage columns.
#}
{% macro staged_events(table_name, reason_macro, columns, quarantine_model) %}
-- depends_on: {{ ref(quarantine_model) }}
with new_rows as (
    {{ bronze_increment(table_name, ['event_id']) }}
),
checked as (
    select *, {{ reason_macro() }} as invalid_reason from new_rows
)
select
    {% for column in columns %}{{ column }},
    {% endfor %}{{ bronze_lineage() }}
from checked
where invalid_reason is null
{{ first_per_event_id() }}
{% endmacro %}

{#
  Body of a quarantine model: new bronze rows of `table_name` that fail `reason_macro`, with the raw
  bytes. It runs before its staging model (the staging model depends on it) and also takes the
  staging model's watermark from the previous build, so it does not rescan all of bronze while
  the quarantine stays empty.
#}
{% macro quarantined_events(table_name, reason_macro, staging_model) %}
with new_rows as (
    {{ bronze_increment(table_name, ['kafka_topic', 'kafka_partition', 'kafka_offset'],
                        api.Relation.create(database=this.database, schema=this.schema, identifier=staging_model)) }}
)
select
    kafka_topic, kafka_partition, kafka_offset, kafka_key,
    event_id, event_time,
    {{ reason_macro() }} as invalid_reason,
    raw_value, ingestion_time, event_date
from new_rows
where invalid_reason is not null
{% endmacro %}
