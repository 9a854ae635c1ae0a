"""`rideshare sim report` on jsonl files written by the simulation's own file sink."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agents_sim.sinks import JsonlSink
from rideshare.cli import app
from tests.unit.agents_sim.report_events import busy_day


@pytest.fixture
def cli() -> typer.Typer:
    return app


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    sink = JsonlSink(path)
    for schema, record in busy_day().events:
        sink.emit(schema, record)
    sink.close()
    return path


def test_report_prints_the_table_and_writes_json_and_html_next_to_the_events(cli: typer.Typer, events_file: Path) -> None:
    result = CliRunner().invoke(cli, ["sim", "report", str(events_file)])
    assert result.exit_code == 0, result.output
    assert "of 16 KPIs in band" in result.output and "distance" in result.output
    data = json.loads((events_file.parent / "run.kpis.json").read_text(encoding="utf-8"))
    assert data["facts"]["events"] == len(busy_day().events)
    assert (events_file.parent / "run.kpis.html").read_text(encoding="utf-8").startswith("<!doctype html>")


def test_report_writes_where_asked_and_reads_gzip(cli: typer.Typer, events_file: Path, tmp_path: Path) -> None:
    zipped = tmp_path / "run.jsonl.gz"
    zipped.write_bytes(gzip.compress(events_file.read_bytes()))
    result = CliRunner().invoke(cli, ["sim", "report", str(zipped), "--json", str(tmp_path / "a.json"), "--html", str(tmp_path / "b.html")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["total"] == 16
    assert (tmp_path / "b.html").exists()


def test_fail_under_exits_2_when_too_few_kpis_are_in_band(cli: typer.Typer, events_file: Path) -> None:
    assert CliRunner().invoke(cli, ["sim", "report", str(events_file), "--fail-under", "16"]).exit_code == 2
    assert CliRunner().invoke(cli, ["sim", "report", str(events_file), "--fail-under", "0"]).exit_code == 0


def test_a_missing_file_is_one_clear_error(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sim", "report", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert "no events file" in result.output and "sim run" in result.output


def test_a_corrupt_line_names_the_file_and_line(cli: typer.Typer, events_file: Path) -> None:
    lines = events_file.read_text(encoding="utf-8").splitlines()
    lines[1] = '{"schema": "trip_event", "value": '
    events_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sim", "report", str(events_file)])
    assert result.exit_code == 1
    assert "run.jsonl:2" in result.output


def test_help_explains_the_inputs(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["sim", "report", "--help"])
    assert result.exit_code == 0
    assert "kafka:" in result.output and "jsonl" in result.output and "--fail-under" in result.output


def test_markdown_and_plots_options_write_their_files(cli: typer.Typer, events_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sim", "report", str(events_file), "--markdown", str(tmp_path / "kpis.md"),
                                      "--plots", str(tmp_path / "plots")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kpis.md").read_text(encoding="utf-8").startswith("| KPI |")
    assert len(list((tmp_path / "plots").glob("*.png"))) == 5
