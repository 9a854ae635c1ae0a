-- SCD2 drivers: one row per version of a driver's profile (a version only when an attribute changes).
{{ scd2_versions(ref('stg_bronze__driver_profiles'), 'driver_id',
    ['full_name', 'email', 'phone', 'vehicle_make', 'vehicle_model', 'vehicle_year', 'vehicle_color',
     'license_plate', 'home_zone_id', 'shift_preference']) }}
