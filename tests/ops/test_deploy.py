"""docker/compose.yaml: valid for Debian's docker-compose, and every command it runs is one this
code base has, with the options it passes. (The images cannot be built here: no registry.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import get_commands

from studio.generation.runner import RunnerSettings
from studio.ops.doctor import CHECKS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")


def _resolved() -> dict[str, Any]:
    assert COMPOSE is not None
    out = subprocess.run(
        [COMPOSE, "-f", "docker/compose.yaml", "--env-file", "docker/.env.example", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded: dict[str, Any] = yaml.safe_load(out)
    return loaded


def _seconds(value: str) -> float:
    return float(value[:-1]) * (60 if value.endswith("m") else 1) if value[-1] in "sm" else float(value)


@pytest.mark.skipif(COMPOSE is None, reason="SKIPPED LOUDLY: needs Debian's docker-compose (scripts/compose.sh)")
def test_the_compose_file_resolves_and_runs_only_commands_we_have() -> None:
    services = _resolved()["services"]
    assert set(services) == {"migrate", "web", "worker", "chores", "postgres", "redis", "minio", "bucket"}
    studio = {name: services[name] for name in ("migrate", "web", "worker", "chores")}
    commands = get_commands()
    for name, service in studio.items():
        command = service["command"]
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in commands, f"{name} runs an unknown command {command[2]}"
        assert service["environment"]["STUDIO_RUNNER"] == "external", "no runner inside web processes"
        assert service["environment"]["STUDIO_STORAGE"] == "s3"
    assert studio["web"]["command"][0] == "daphne"
    assert studio["worker"]["command"][2] == "studio_worker" and studio["chores"]["command"][2] == "db_worker"
    for name in ("web", "worker", "chores", "postgres", "redis", "minio"):
        assert "test" in services[name]["healthcheck"], f"{name} has a health check"
    for check in (services["worker"]["healthcheck"]["test"], services["chores"]["healthcheck"]["test"]):
        only = [check[i + 1] for i, word in enumerate(check) if word == "--only"]
        assert only and set(only) <= set(CHECKS)
    drain = RunnerSettings().drain_seconds
    assert _seconds(services["worker"]["stop_grace_period"]) > drain, "longer than the runner's drain"
    assert services["bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "anonymous set none" in services["bucket"]["command"][0], "a private bucket"
