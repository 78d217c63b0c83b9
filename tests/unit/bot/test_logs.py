"""LOG_FORMAT=json: one JSON object per line, with the feed or chat a line is about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram.types import Chat

from bot.logs import FEED_ID, JsonFormatter
from bot.middlewares import log_chat


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("habar.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)


def _records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_time_level_logger_and_message(
    lines: io.StringIO,
) -> None:
    logging.getLogger("habar.test").warning("feed %s: %d items skipped", 7, 3)

    [record] = _records(lines)
    assert record["level"] == "WARNING"
    assert record["logger"] == "habar.test"
    assert record["message"] == "feed 7: 3 items skipped"
    assert record["time"].endswith("+00:00")
    assert "feed_id" not in record and "chat_id" not in record


async def test_lines_logged_while_polling_a_feed_carry_its_id(lines: io.StringIO) -> None:
    async def poll() -> None:  # the poller runs each feed in its own task and sets FEED_ID
        FEED_ID.set(42)
        logging.getLogger("habar.test").info("polled")

    await asyncio.create_task(poll())
    logging.getLogger("habar.test").info("after")

    assert [r.get("feed_id") for r in _records(lines)] == [42, None]


async def test_lines_logged_while_handling_an_update_carry_its_chat_id(
    lines: io.StringIO,
) -> None:
    async def handler(_event: Any, _data: dict[str, Any]) -> None:
        logging.getLogger("habar.test").info("handled")

    await log_chat(handler, object(), {"event_chat": Chat(id=-100123, type="supergroup")})
    logging.getLogger("habar.test").info("outside")

    assert [r.get("chat_id") for r in _records(lines)] == [-100123, None]


def test_an_exception_is_kept_in_the_same_line(lines: io.StringIO) -> None:
    try:
        raise ValueError("bad feed")
    except ValueError:
        logging.getLogger("habar.test").exception("poll failed")

    [record] = _records(lines)
    assert "ValueError: bad feed" in record["exception"]
