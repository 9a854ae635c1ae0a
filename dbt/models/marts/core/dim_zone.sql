-- São Paulo districts (zone_id = ds_codigo), read from the project's district GeoJSON.
select
    cast(ds_codigo as varchar) as zone_id,
    ds_nome as zone_name,
    ds_sigla as zone_code,
    ds_subpref as subprefecture,
    ds_cd_sub as subprefecture_code
from read_json('{{ var("zones_geojson") }}', maximum_object_size = 268435456)
