-- Bronze driver_status rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('driver_status', driver_status_invalid_reason, 'stg_bronze__driver_status_changes') }}
