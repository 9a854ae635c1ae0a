from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents_sim.exceptions import ConfigError
from core.settings import load_settings
from rideshare.cli import app
from rideshare.simulations import build_sink, speed_option

runner = CliRunner()


def test_sim_run_writes_jsonl_and_prints_a_summary_and_the_kpi_table(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    result = runner.invoke(app, ["sim", "run", "--seed", "4", "--drivers", "30", "--riders", "400", "--duration", "900",
                                 "--start", "2026-03-02T08:00:00", "--sink", f"jsonl:{out}"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    assert set(first) == {"schema", "key", "value"}
    assert first["schema"] == "driver_profile" and first["key"] == first["value"]["driver_id"]
    assert last["schema"] == "simulation_control" and last["value"]["action"] == "stopped"
    assert last["value"]["event_time"] == 1772449200000 + 900_000  # stops exactly at the requested duration
    assert "Simulation sim-4" in result.output and "gps_ping" in result.output
    assert "KPIs in band" in result.output


def test_sim_describe_lists_the_zone_model() -> None:
    result = runner.invoke(app, ["sim", "describe", "--top", "5"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "PINHEIROS" in result.output or "JARDIM PAULISTA" in result.output


def test_speed_has_one_spelling_for_as_fast_as_possible() -> None:
    assert speed_option("max") == "max" and speed_option("auto") == "auto" and speed_option("60") == 60.0
    for other_spelling in ("0", "null", "none", ""):
        with pytest.raises(ConfigError, match="max"):
            speed_option(other_spelling)


def test_bad_options_say_what_is_allowed() -> None:
    with pytest.raises(ConfigError, match=r"0\.5\.\.1000"):
        speed_option("5000")
    with pytest.raises(ConfigError, match=r"kafka \(catalog topics\), jsonl:PATH"):
        build_sink(load_settings(), "s3://nope")
    result = runner.invoke(app, ["sim", "run", "--speed", "fast", "--sink", "null"], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "'max' (as fast as possible)" in result.output
    # auto paces by the stream workers' lag: a file run has none to read, and says so
    result = runner.invoke(app, ["sim", "run", "--speed", "auto", "--sink", "null", "--duration", "60"], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "consumer lag" in result.output


def test_sim_describe_marks_the_service_area_of_the_fleet() -> None:
    from agents_sim.params import SimConfig
    from agents_sim.world.service_area import select_service_area
    from schemas.zones import zone_index

    result = runner.invoke(app, ["sim", "describe", "--top", "96", "--drivers", "400"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    area = select_service_area(zone_index(), SimConfig(drivers=400).service_area, 400)
    assert f"Service area for 400 drivers — {area.describe()}" in result.output
    assert result.output.count("│ yes          │") == len(area.zone_ids)
