"""The ground floor of Rideshare Streams: settings, the error base and the Kafka event producer.

Nothing here imports another package of the project except `schemas` (the event contracts).
"""
