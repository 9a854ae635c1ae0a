-- Silver simulation control: typed, validated, one row per event_id (incremental on the ingestion watermark).
{{ staged_events('sim_control', simulation_control_invalid_reason, ['event_id', 'event_time', 'session_id', 'action', 'speed', 'drivers', 'riders', 'seed', 'detail'], 'quarantine_bronze__simulation_control') }}
