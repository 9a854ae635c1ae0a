-- Bronze payments rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('payments', payment_invalid_reason, 'stg_bronze__payments') }}
