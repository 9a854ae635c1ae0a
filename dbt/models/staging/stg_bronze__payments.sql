-- Silver payments: typed, validated, one row per event_id (incremental on the ingestion watermark).
{{ staged_events('payments', payment_invalid_reason, ['event_id', 'event_time', 'session_id', 'correlation_id', 'causation_id', 'payment_id', 'trip_id', 'rider_id', 'driver_id', 'payment_method', 'fare_brl', 'platform_fee_brl', 'driver_payout_brl', 'surge_multiplier', 'status']) }}
