-- SCD2 riders: one row per version of a rider's profile (a version only when an attribute changes).
{{ scd2_versions(ref('stg_bronze__rider_profiles'), 'rider_id',
    ['full_name', 'email', 'phone', 'home_zone_id', 'payment_method', 'loyalty_tier']) }}
