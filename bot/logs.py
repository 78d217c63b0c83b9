"""Log set-up: human-readable lines by default, one JSON object per line with LOG_FORMAT=json.

The feed or chat a line is about is taken from context variables that the poller, the sender
and the update middleware set, so a JSON line carries `feed_id` or `chat_id` without every
log call having to pass them.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

FEED_ID: ContextVar[int | None] = ContextVar("log_feed_id", default=None)
CHAT_ID: ContextVar[int | None] = ContextVar("log_chat_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, feed/chat ids, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("feed_id", FEED_ID), ("chat_id", CHAT_ID)):
            value = getattr(record, key, None)
            if value is None:
                value = var.get()
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(log_format: str, level: int) -> None:
    """Send logs to stderr in the chosen format (text or json)."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler])
