"""Runs inside a subprocess whose environment already holds AIRFLOW_HOME and the RIDESHARE_* settings
(Airflow reads its configuration at import). Parses the lakehouse DAG folder, runs the given DAGs in
order with `dag.test()` (`dag_id` or `dag_id@engine` to pass the engine parameter) and prints one JSON
object: import errors and each DAG run's state and task states."""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag

from lakehouse.dags import __file__ as dags_init

DAG_FOLDER = dags_init.rsplit("/", 1)[0]


def main(dag_ids: list[str]) -> None:
    bag = DagBag(dag_folder=DAG_FOLDER)
    report: dict = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dag_ids": sorted(bag.dag_ids), "runs": {}}
    for spec in dag_ids:
        dag_id, _, engine = spec.partition("@")
        run = bag.get_dag(dag_id).test(run_conf={"engine": engine} if engine else None)
        tasks = {ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state) for ti in run.get_task_instances()}
        report["runs"][spec] = {"state": str(run.state), "tasks": tasks, "conf": run.conf}
    print("RESULT " + json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
