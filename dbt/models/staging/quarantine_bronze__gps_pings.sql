-- Bronze gps rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('gps', gps_ping_invalid_reason, 'stg_bronze__gps_pings') }}
