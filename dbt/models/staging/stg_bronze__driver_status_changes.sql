-- Silver driver status changes: typed, validated, one row per event_id (incremental on the ingestion watermark).
{{ staged_events('driver_status', driver_status_invalid_reason, ['event_id', 'event_time', 'session_id', 'correlation_id', 'causation_id', 'driver_id', 'previous_status', 'new_status', 'reason', 'zone_id', 'driver_lat', 'driver_lon', 'trip_id']) }}
