-- Every bronze gps pings record with the first validation rule it breaks (null when valid).
-- Bounds come from the project's Python contract as vars (lakehouse/dbt_project.py).
with records as (
    select * from {{ ref('stg_bronze__gps_pings') }}
),

checked as (
    select
        *,
        case
        {{ envelope_invalid_reason() }}
        when entity_id is null then 'missing_entity_id'
        when not {{ in_service_area('lat', 'lon') }} then 'coordinates_outside_area'
        when speed_kmh < {{ var('min_speed_kmh') }} or speed_kmh > {{ var('max_speed_kmh') }} then 'speed_out_of_range'
        when heading_deg < {{ var('min_heading_deg') }} or heading_deg > {{ var('max_heading_deg') }} then 'heading_out_of_range'
        when accuracy_m < 0 then 'negative_accuracy'
        end as invalid_reason
    from records
)

select * from checked
