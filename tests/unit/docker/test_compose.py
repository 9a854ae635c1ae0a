"""docker/compose.yml and its Dockerfile, checked without a container engine: services, profiles,
images or builds, ports, dependencies, and that every COPY source exists in the build context."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from rideshare.cli import app as cli_app

DOCKER_DIR = Path(__file__).resolve().parents[3] / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER_DIR / "compose.yml").read_text())


def test_infra_profile_runs_kafka_in_kraft_mode_and_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    infra = {name for name, spec in services.items() if "infra" in spec.get("profiles", [])}
    assert infra == {"kafka", "redis"}
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:4.")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "9092:9092" in kafka["ports"] and "6379:6379" in services["redis"]["ports"]
    assert all("healthcheck" in services[name] for name in infra)


def test_app_profile_has_the_whole_platform_and_builds_the_python_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    app_services = {name for name, spec in services.items() if "app" in spec.get("profiles", [])}
    assert {"kafka", "redis", "topics", "worker", "api", "lakehouse"} <= app_services
    for name in ("topics", "worker", "api", "lakehouse"):
        build = services[name]["build"]
        assert (DOCKER_DIR / build["context"] / build["dockerfile"]).is_file(), name
        assert services[name]["environment"]["RIDESHARE_KAFKA_BOOTSTRAP"] == "kafka:19092"
    assert "8000:8000" in services["api"]["ports"] and "6066:6066" in services["worker"]["ports"]


def test_every_dependency_names_a_service_in_a_shared_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, spec in services.items():
        for dependency, condition in spec.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert set(spec["profiles"]) & set(services[dependency]["profiles"]), f"{name} -> {dependency}: no common profile"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s health, which has no check"
    assert services["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_service_commands_are_real_rideshare_verbs_with_real_options(compose: dict[str, Any]) -> None:
    cli = typer.main.get_command(cli_app)
    for name in ("topics", "worker", "api"):
        words = compose["services"][name]["command"]
        command = cli
        while hasattr(command, "commands") and words and not words[0].startswith("-"):  # a group: descend
            assert words[0] in command.commands, f"{name}: `rideshare ... {words[0]}` does not exist"
            command, words = command.commands[words[0]], words[1:]
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        unknown = [word for word in words if word.startswith("--") and word not in known]
        assert not unknown, f"{name}: options {unknown} are not options of that command"
    assert "rideshare lakehouse build" in compose["services"]["lakehouse"]["entrypoint"][-1]


def test_dockerfile_copy_sources_exist_in_the_build_context() -> None:
    dockerfile = (DOCKER_DIR / "Dockerfile").read_text()
    context = DOCKER_DIR.parent
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.MULTILINE))
    copies = re.findall(r"^COPY (.+)$", dockerfile, flags=re.MULTILINE)
    assert copies
    for line in copies:
        parts = shlex.split(line)
        if parts[0].startswith("--from="):
            assert parts[0].removeprefix("--from=") in stages
            continue
        sources = parts[:-1]
        matched = [source for source in sources if any(context.glob(source.rstrip("/")))]
        # A glob may match nothing (optional file); a plain source must exist.
        missing = [source for source in sources if "*" not in source and source not in matched]
        assert not missing, f"COPY {line}: {missing} not in the build context"
    assert (DOCKER_DIR / "Dockerfile.dockerignore").is_file()
