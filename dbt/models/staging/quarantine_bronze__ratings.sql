-- Bronze ratings rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('ratings', rating_invalid_reason, 'stg_bronze__ratings') }}
