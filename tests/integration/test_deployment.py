"""docker-compose.yml as Docker Compose resolves it, and its /readyz probe against a server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which(
    "docker-compose"
)


@pytest.fixture
def resolved(tmp_path: Path) -> dict[str, Any]:
    """`docker compose config` of the file, with .env.example and a password as the .env."""
    if COMPOSE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose not installed: pip install -e '.[dev]'")
        pytest.skip("docker-compose not installed (pip install -e '.[dev]')")
    example = (ROOT / ".env.example").read_text()
    (tmp_path / ".env").write_text(
        example.replace("\nPOSTGRES_PASSWORD=\n", "\nPOSTGRES_PASSWORD=pw\n").replace(
            "\nBOT_TOKEN=\n", "\nBOT_TOKEN=123:ABC\n"
        )
    )
    argv = ["--project-directory", str(tmp_path), "-f", str(ROOT / "docker-compose.yml")]
    done = subprocess.run(
        [COMPOSE, *argv, "config", "--format", "json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_two_instances_share_postgresql_and_redis_and_read_the_rest_from_env(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    habar = services["habar"]
    env = habar["environment"]

    assert set(services) == {"postgres", "redis", "habar"}
    assert habar["deploy"]["replicas"] == 2
    assert env["DATABASE_URL"] == "postgresql+asyncpg://habar:pw@postgres:5432/habar"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert (env["WEB_HOST"], env["WEB_PORT"]) == ("0.0.0.0", "8080")
    assert env["BOT_TOKEN"] == "123:ABC"  # everything else comes from .env
    assert env["RETENTION_DAYS"] == "90"
    assert {d["condition"] for d in habar["depends_on"].values()} == {"service_healthy"}
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw"


async def probe(test: list[str], port: int) -> int:
    """Run the container's health check command here, aimed at `port` instead of 8080."""
    assert test[0] == "CMD" and test[1] == "python"
    argv = [arg.replace(":8080/", f":{port}/") for arg in test[2:]]
    proc = await asyncio.create_subprocess_exec(sys.executable, *argv)
    return await proc.wait()


async def test_the_health_check_passes_only_while_readyz_answers_200(
    resolved: dict[str, Any],
) -> None:
    test = resolved["services"]["habar"]["healthcheck"]["test"]
    status = 200
    seen: list[str] = []

    async def readyz(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"database": "ok"}, status=status)

    app = web.Application()
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        healthy = await probe(test, port)
        status = 503
        sick = await probe(test, port)
    finally:
        await runner.cleanup()

    assert (healthy, sick) == (0, 1)
    assert seen == ["/readyz", "/readyz"]


def test_the_image_runs_as_a_user_and_keeps_its_data_volume() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()

    assert "USER 10001:10001" in lines
    assert 'VOLUME ["/var/lib/habar"]' in lines
