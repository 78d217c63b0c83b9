"""Helpers for tests of the bot's HTTP server: a free port, GETs, and /metrics as numbers."""

from __future__ import annotations

import socket
from typing import Any

from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def get(url: str) -> tuple[int, Any]:
    """GET a URL; its status and its body (JSON when it is JSON, else text)."""
    async with ClientSession() as session, session.get(url) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(base_url: str) -> Samples:
    """GET /metrics and parse it: (sample name, sorted labels) -> value."""
    status, text = await get(base_url + "/metrics")
    assert status == 200, text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """One sample's value (0 when it is absent)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
