-- Bronze driver_profiles rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('driver_profiles', driver_profile_invalid_reason, 'stg_bronze__driver_profiles') }}
