"""Bronze layer: one Delta table per catalog topic (raw Avro bytes + decoded columns + Kafka
coordinates), written exactly once per Kafka record, plus the dead-letter (DLQ) table."""
