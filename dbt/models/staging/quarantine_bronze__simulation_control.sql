-- Bronze sim_control rows that failed validation, with the reason and the raw Avro bytes.
{{ quarantined_events('sim_control', simulation_control_invalid_reason, 'stg_bronze__simulation_control') }}
