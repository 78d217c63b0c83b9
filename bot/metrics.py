"""Every Prometheus metric Habar exports, defined once; services and the Telegram edge record.

One `Metrics` per running bot, on its own registry, so two bots in one process (the tests)
never add to each other's counters. Names are prefixed `habar_`; counters get `_total` from
prometheus_client. Gauges about shared state (outbox, subscribers, feeds) are read from the
database when /metrics is scraped, so every instance reports the same numbers for them.
"""

from __future__ import annotations

import os
import socket

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "instance_id"]

# Feeds answer in tens of milliseconds to tens of seconds (FetchLimits' timeout is 30 s).
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
# Parsing and classifying one document in a worker: about a millisecond to a few seconds.
PARSE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MESSAGE_KINDS = ("digest", "reply")
POLL_RESULTS = ("ok", "not_modified")
SUBSCRIBER_STATUSES = ("active", "paused", "blocked")
WEBHOOK_RESULTS = ("accepted", "duplicate", "unauthorized", "refused")


def instance_id() -> str:
    """This process's name in metrics and logs: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Metrics:
    """The bot's metrics; `render()` gives the Prometheus text format."""

    def __init__(self, instance: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._telegram(self.registry)
        self._work(self.registry)
        self._state(self.registry)
        self.instance = Info(
            "habar_instance", "The instance this process is", registry=self.registry
        )
        self.instance.info({"id": instance or instance_id()})
        self._zero()

    def _telegram(self, r: CollectorRegistry) -> None:
        """What Telegram accepted, refused and asked to wait for; what came by webhook."""
        self.messages_sent = Counter(
            "habar_messages_sent",
            "Messages Telegram accepted, by kind (digest part or reply to a user)",
            ["kind"],
            registry=r,
        )
        self.messages_failed = Counter(
            "habar_messages_failed",
            "sendMessage calls Telegram refused or that got no answer, by reason",
            ["reason"],
            registry=r,
        )
        self.retry_after = Counter(
            "habar_telegram_retry_after", "429 Too Many Requests answers from Telegram", registry=r
        )
        self.paused_seconds = Counter(
            "habar_telegram_paused_seconds",
            "Seconds of pause Telegram asked for in its 429 answers (retry_after)",
            registry=r,
        )
        self.webhook_updates = Counter(
            "habar_webhook_updates",
            "Webhook requests: accepted, duplicate (update_id seen before), unauthorized "
            "(no or wrong secret) or refused (stopping, busy or the database did not answer)",
            ["result"],
            registry=r,
        )

    def _work(self, r: CollectorRegistry) -> None:
        """Polls, their durations, items stored and digests planned."""
        self.polls = Counter(
            "habar_polls",
            "Feed polls by result (ok, not_modified or the error kind)",
            ["result"],
            registry=r,
        )
        self.fetch_seconds = Histogram(
            "habar_fetch_duration_seconds",
            "Time to fetch one feed document",
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.parse_seconds = Histogram(
            "habar_parse_duration_seconds",
            "Time to parse and classify one feed document (in a worker process)",
            buckets=PARSE_BUCKETS,
            registry=r,
        )
        self.items_stored = Counter(
            "habar_items_stored", "New items stored, by language", ["lang"], registry=r
        )
        self.digests_planned = Counter(
            "habar_digests_planned", "Digests planned (queued in the outbox)", registry=r
        )

    def _state(self, r: CollectorRegistry) -> None:
        """Shared state read at each scrape, and the event loop's lag."""
        self.outbox_pending = Gauge(
            "habar_outbox_pending", "Messages planned and not yet sent or given up", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "habar_outbox_oldest_age_seconds",
            "Age of the oldest pending outbox message (0 when none is pending)",
            registry=r,
        )
        self.subscribers = Gauge(
            "habar_subscribers", "Subscribers by status", ["status"], registry=r
        )
        self.failing_feeds = Gauge(
            "habar_failing_feeds", "Feeds whose last poll failed", registry=r
        )
        self.loop_lag = Gauge(
            "habar_event_loop_lag_seconds",
            "How late the event loop ran a timer, last measured (a stalled loop shows here)",
            registry=r,
        )

    def _zero(self) -> None:
        """Show the usual label values at 0 before anything happened."""
        for kind in MESSAGE_KINDS:
            self.messages_sent.labels(kind)
        for result in POLL_RESULTS:
            self.polls.labels(result)
        for status in SUBSCRIBER_STATUSES:
            self.subscribers.labels(status)
        for result in WEBHOOK_RESULTS:
            self.webhook_updates.labels(result)

    def render(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)
