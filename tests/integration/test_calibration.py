"""A simulated São Paulo weekday, scaled down (400 drivers / 6,000 riders), lands inside at least 14 of
the 16 calibration bands, surge included (the surge topology's engine in a closed loop in process) —
for two seeds the defaults were not tuned on (bench/calibration.py's TUNING_SEEDS), so the calibration
is not a lucky draw. Runs the real `rideshare sim run` to a jsonl file and `rideshare sim report` on it,
the two seeds as parallel processes (one per core)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agents_sim.params import DEFAULT_START
from rideshare.supervisor import rideshare_command

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DRIVERS = 400
RIDERS = 6_000
DAY_S = 86_400
MIN_IN_BAND = 14
SEEDS = (11, 4099)  # not the tuning seeds (7, 2026), nor any seed the defaults were tried on
TIMEOUT_S = 900


def _in_parallel(commands: dict[int, list[str]], folder: Path) -> None:
    """Run one command per seed at once; fail with the log tail of any that fails."""
    running = {seed: subprocess.Popen(cmd, stdout=(folder / f"seed{seed}.log").open("ab"), stderr=subprocess.STDOUT)
               for seed, cmd in commands.items()}
    for seed, process in running.items():
        code = process.wait(timeout=TIMEOUT_S)
        tail = (folder / f"seed{seed}.log").read_text(encoding="utf-8", errors="replace")[-3000:]
        assert code == 0, f"seed {seed}: {' '.join(commands[seed][2:])} exited {code}:\n{tail}"


@pytest.fixture(scope="module")
def weekdays(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    """The JSON report of one simulated weekday per seed."""
    folder = tmp_path_factory.mktemp("weekdays")
    _in_parallel({seed: rideshare_command("sim", "run", "--seed", str(seed), "--drivers", str(DRIVERS), "--riders", str(RIDERS),
                                          "--duration", str(DAY_S), "--sink", f"jsonl:{folder / f'seed{seed}.jsonl'}", "--no-kpis")
                  for seed in SEEDS}, folder)
    # the markdown table, HTML page and plots stay in the test's tmp folder for the README and closing notes
    _in_parallel({seed: rideshare_command("sim", "report", str(folder / f"seed{seed}.jsonl"), "--json", str(folder / f"seed{seed}.json"),
                                          "--html", str(folder / f"seed{seed}.html"), "--markdown", str(folder / f"seed{seed}.md"),
                                          "--plots", str(folder / f"seed{seed}-plots"))
                  for seed in SEEDS}, folder)
    for seed in SEEDS:
        (folder / f"seed{seed}.jsonl").unlink()  # ~1 GB each; the reports keep what the tests need
    return {seed: json.loads((folder / f"seed{seed}.json").read_text(encoding="utf-8")) for seed in SEEDS}


def _misses(report: dict[str, Any]) -> str:
    return "\n".join(f"  {row['status']:4} {row['title']}: {row['reason']}" for row in report["rows"] if row["status"] != "pass")


def test_the_default_start_is_a_weekday() -> None:
    assert dt.datetime.fromisoformat(DEFAULT_START).weekday() < 5


@pytest.mark.parametrize("seed", SEEDS)
def test_a_simulated_weekday_lands_inside_at_least_14_of_16_bands(weekdays: dict[int, dict[str, Any]], seed: int) -> None:
    report = weekdays[seed]
    assert report["total"] == 16
    assert report["facts"]["span_hours"] >= 23, "the run must cover a whole simulated day"
    assert report["facts"]["drivers_online"] > DRIVERS // 2
    surge = next(row for row in report["rows"] if row["key"] == "surge")
    assert surge["status"] != "n/a", "surge must be measured: a file run closes the loop with the surge topology's engine"
    assert report["in_band"] >= MIN_IN_BAND, f"seed {seed}: {report['in_band']} of 16 in band; misses:\n{_misses(report)}"
