-- São Paulo districts (zone_id = the district code), from the project's zone model, passed as the
-- `zones` var by lakehouse/dbt_project.py (the district GeoJSON lives in the project once).
with zones as (
    select * from (
        values
        {%- for zone in var('zones') %}
        ('{{ zone.zone_id }}', '{{ zone.zone_name | replace("'", "''") }}', '{{ zone.zone_code }}', '{{ zone.subprefecture | replace("'", "''") }}', {{ zone.centroid_lat }}, {{ zone.centroid_lon }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as zone_rows (zone_id, zone_name, zone_code, subprefecture, centroid_lat, centroid_lon)
)

select
    cast(zone_id as {{ dbt.type_string() }}) as zone_id,
    cast(zone_name as {{ dbt.type_string() }}) as zone_name,
    cast(zone_code as {{ dbt.type_string() }}) as zone_code,
    cast(subprefecture as {{ dbt.type_string() }}) as subprefecture,
    cast(centroid_lat as double) as centroid_lat,
    cast(centroid_lon as double) as centroid_lon
from zones
