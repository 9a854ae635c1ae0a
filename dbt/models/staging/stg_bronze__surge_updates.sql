-- Silver surge updates: typed, validated, one row per event_id (incremental on the ingestion watermark).
{{ staged_events('surge', surge_update_invalid_reason, ['event_id', 'event_time', 'session_id', 'zone_id', 'surge_multiplier', 'previous_multiplier', 'demand_count', 'supply_count', 'window_start', 'window_end'], 'quarantine_bronze__surge_updates') }}
