"""Airflow DAGs of the lakehouse. Each task calls the same function the `rideshare lakehouse` CLI calls."""
