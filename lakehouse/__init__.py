"""Lakehouse: Delta table specs and writers, maintenance, data quality suites and Airflow DAGs."""
