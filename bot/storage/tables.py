"""The schema, once: SQLAlchemy Core tables shared by the repositories and Alembic."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("title", String(500), nullable=False, server_default=""),
    Column("site_url", String(2048)),
    Column("lang_hint", String(16)),
    Column("etag", String(500)),
    Column("last_modified", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_polled_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error_kind", String(32)),
    Column("last_error_detail", String(500)),
    Column("last_error_at", UTCDateTime),
    Column("failure_count", Integer, nullable=False, server_default="0"),
    Column("next_check_at", UTCDateTime, nullable=False, index=True),
    # Several instances: the one polling the feed now, until when (a dead one's lease expires).
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime),
)

items = Table(
    "items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(80), nullable=False, unique=True),
    Column("url", String(2048), index=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="SET NULL"), index=True),
    Column("source", String(500), nullable=False, server_default=""),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, server_default=""),
    Column("lang", String(8), nullable=False),
    Column("topics", String(200), nullable=False, server_default=""),
    Column("published_at", UTCDateTime, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False, index=True),
    # False for items published more than BACKFILL_HOURS before first seen: stored, never pushed.
    Column("pushable", Boolean, nullable=False),
)

# One row per (item, topic): lets a digest filter by topic in SQL; grows linearly with items.
item_topics = Table(
    "item_topics",
    metadata,
    Column("item_id", BigId, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(32), primary_key=True),
    Index("ix_item_topics_topic_item", "topic", "item_id"),
)

# One row per place: a private chat, a group, a channel (thread_id 0) or one forum topic.
subscribers = Table(
    "subscribers",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    # The forum topic's message_thread_id; 0 for the chat itself.
    Column("thread_id", BigInteger, primary_key=True, autoincrement=False, server_default="0"),
    # private | group | supergroup | channel | topic
    Column("kind", String(16), nullable=False, server_default="private"),
    Column("title", String(255), nullable=False, server_default=""),
    # Who connected a channel (told in private; /chats lists it for them).
    Column("added_by", BigInteger),
    Column("ui_lang", String(8)),
    Column("langs", String(32), nullable=False, server_default="*"),
    Column("topics", String(300), nullable=False, server_default="*"),
    Column("schedule", String(16), nullable=False, server_default="daily"),
    Column("times", String(200), nullable=False, server_default="09:00"),
    Column("timezone", String(64), nullable=False),
    # active | paused (/stop) | blocked (403, chat not found)
    Column("status", String(16), nullable=False, server_default="active", index=True),
    # Every item with id <= cursor is delivered or skipped for this subscriber.
    Column("cursor_item_id", BigInteger, nullable=False, server_default="0"),
    Column("next_digest_at", UTCDateTime, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Keyword alerts, one term a line as /keywords writes them (at most 50 of 100 characters).
    Column("keywords", Text, nullable=False, server_default=""),
)

# Messages planned and not yet confirmed by Telegram; retention deletes sent rows after 7 days.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("thread_id", BigInteger, nullable=False, server_default="0"),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # Set when Telegram refused the message for good (never retried, not counted as sent).
    Column("error", String(300)),
    # Several instances: the one sending this chat's messages, until when (renewed while alive).
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime),
    Index("ix_outbox_pending", "sent_at", "id"),
    Index("ix_outbox_chat", "chat_id"),
)

# Update ids taken from the webhook, so an update Telegram sends again (it saw no 200) or that
# reaches two instances is handled once. Rows older than a day are deleted.
webhook_updates = Table(
    "webhook_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
)

# Feeds a place has muted: their items never reach it. Rows go with the feed or the place.
muted_sources = Table(
    "muted_sources",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("thread_id", BigInteger, primary_key=True, autoincrement=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True),
    ForeignKeyConstraint(
        ["chat_id", "thread_id"],
        ["subscribers.chat_id", "subscribers.thread_id"],
        name="fk_muted_sources_place_subscribers",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)

# The place a private chat configures after /chats (until "This chat" is chosen again).
chosen_places = Table(
    "chosen_places",
    metadata,
    Column("private_chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("thread_id", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["chat_id", "thread_id"],
        ["subscribers.chat_id", "subscribers.thread_id"],
        name="fk_chosen_places_place_subscribers",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)
