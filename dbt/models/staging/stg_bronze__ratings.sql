-- Silver ratings: typed, validated, one row per event_id (incremental on the ingestion watermark).
{{ staged_events('ratings', rating_invalid_reason, ['event_id', 'event_time', 'session_id', 'correlation_id', 'causation_id', 'rating_id', 'trip_id', 'rater_type', 'rater_id', 'ratee_id', 'stars'], 'quarantine_bronze__ratings') }}
