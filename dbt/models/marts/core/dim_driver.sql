-- SCD2 drivers: one row per version of a driver's profile (a version only when an attribute changes).
-- Incremental by MERGE on the version key: only new versions and versions closed since are written.
{{ config(materialized='incremental', incremental_strategy='merge', unique_key='driver_version_key', merge_on_match='update') }}

with versions as (
    {{ scd2_versions(ref('driver_profiles'), 'driver_id',
        ['full_name', 'email', 'phone', 'vehicle_make', 'vehicle_model', 'vehicle_year', 'vehicle_color',
         'license_plate', 'home_zone_id', 'shift_preference']) }}
)

{% if is_incremental() %}
{{ scd2_changes('versions', 'driver_version_key') }}
{% else %}
select * from versions
{% endif %}
