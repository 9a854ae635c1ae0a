-- Bronze trips rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('trips', trip_event_invalid_reason, 'stg_bronze__trip_events') }}
