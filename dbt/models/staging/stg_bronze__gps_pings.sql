-- Silver gps pings: typed, validated, one row per event_id (incremental on the ingestion watermark).
{{ staged_events('gps', gps_ping_invalid_reason, ['event_id', 'event_time', 'session_id', 'correlation_id', 'entity_type', 'entity_id', 'lat', 'lon', 'heading_deg', 'speed_kmh', 'accuracy_m', 'trip_id', 'driver_status'], 'quarantine_bronze__gps_pings') }}
