-- Silver rider profiles: typed, validated, one row per event_id (incremental on the ingestion watermark).
{{ staged_events('rider_profiles', rider_profile_invalid_reason, ['event_id', 'event_time', 'session_id', 'change_type', 'rider_id', 'full_name', 'email', 'phone', 'home_zone_id', 'payment_method', 'loyalty_tier', 'changed_fields'], 'quarantine_bronze__rider_profiles') }}
