-- SCD2 riders: one row per version of a rider's profile (a version only when an attribute changes).
-- Incremental by MERGE on the version key: only new versions and versions closed since are written.
{{ config(materialized='incremental', incremental_strategy='merge', unique_key='rider_version_key', merge_on_match='update') }}

with versions as (
    {{ scd2_versions(ref('rider_profiles'), 'rider_id',
        ['full_name', 'email', 'phone', 'home_zone_id', 'payment_method', 'loyalty_tier']) }}
)

{% if is_incremental() %}
{{ scd2_changes('versions', 'rider_version_key') }}
{% else %}
select * from versions
{% endif %}
