-- Bronze rider_profiles rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('rider_profiles', rider_profile_invalid_reason, 'stg_bronze__rider_profiles') }}
