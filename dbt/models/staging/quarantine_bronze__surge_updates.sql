-- Bronze surge rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('surge', surge_update_invalid_reason, 'stg_bronze__surge_updates') }}
