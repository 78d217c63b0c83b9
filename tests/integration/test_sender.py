"""The real Sender and Bot client against the fake Telegram over HTTP, on a real database."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.logs import JsonFormatter
from bot.storage.outbox import OutboxRepo, Plan
from bot.storage.subscribers import Place, Subscriber, SubscriberRepo
from tests.integration.sending import parts, queue, received, rows, sending
from tests.integration.test_outbox import plan
from tests.support.fake_telegram import ApiError, FakeTelegram

SLACK = 0.1  # a request already on the wire when Telegram said 429 may still land this late


def assert_paused_after_every_429(fake: FakeTelegram) -> int:
    """No chat got a message while a retry_after was running; returns how many 429s there were."""
    pauses = [
        (at, int(description.rsplit(" ", 1)[1]))
        for (_method, code, description), at in zip(fake.errors, fake.error_at, strict=True)
        if code == 429
    ]
    for at, retry_after in pauses:
        inside = [(m.chat_id, round(m.at - at, 3)) for m in fake.sent if at + SLACK < m.at]
        inside = [(c, dt) for c, dt in inside if dt < retry_after]
        assert inside == [], f"sent during the {retry_after}s pause after a 429: {inside}"
    return len(pauses)


async def test_every_queued_part_reaches_its_chat_once_and_in_order(
    engine: AsyncEngine, fake: FakeTelegram
) -> None:
    fake.rate_limit(30, per_chat_per_second=1)  # Telegram's limits, enforced with 429s
    chats = [101, 102, 103, 104]
    for chat in chats:
        await queue(engine, chat, parts(chat, 3))

    async with sending(engine, fake, rate=30) as sender:
        await fake.wait_sent(count=12, timeout=20)

    assert {chat: received(fake, chat) for chat in chats} == {c: parts(c, 3) for c in chats}
    assert fake.stats.too_many == 0
    assert all(m.link_preview_disabled for m in fake.sent)
    assert sender.sent == 12
    assert [sent for _c, _t, sent, _e, _a in await rows(engine)] == [True] * 12


def _no_rights(fake: FakeTelegram, chat_id: int) -> None:
    """A group that muted the bot: members may not send text, the bot included."""
    rights = "Bad Request: not enough rights to send text messages to the chat"
    fake.faults.chats[chat_id] = ApiError(400, rights)


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (FakeTelegram.block, 403),
        (FakeTelegram.deactivate, 403),
        (FakeTelegram.not_found, 400),
        (_no_rights, 400),
    ],
    ids=["blocked-the-bot", "deactivated", "chat-not-found", "muted-group"],
)
async def test_a_gone_chat_is_marked_blocked_once_and_the_others_get_their_digests(
    sqlite: AsyncEngine,
    fake: FakeTelegram,
    fault: Callable[[FakeTelegram, int], None],
    status: int,
) -> None:
    for chat in (1, 2, 3):
        await queue(sqlite, chat, parts(chat, 2))
    fault(fake, 2)

    async with sending(sqlite, fake) as sender:
        await fake.wait_sent(lambda m: m.chat_id != 2, count=4)
        await queue(sqlite, 3, ["<b>Ещё одна новость</b>"])
        sender.wake()
        await fake.wait_sent(lambda m: m.html == "<b>Ещё одна новость</b>")

    gone = await SubscriberRepo(sqlite).get(2)
    assert gone is not None and gone.status == "blocked"
    assert received(fake, 1) == parts(1, 2)
    assert received(fake, 3) == [*parts(3, 2), "<b>Ещё одна новость</b>"]
    assert [code for _m, code, _d in fake.errors] == [status]  # tried once, never again
    assert [chat for chat, *_ in await rows(sqlite)].count(2) == 0  # its queue was dropped


async def test_429_storm_delivers_every_message_once_and_pauses_every_chat(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    chats = range(1, 11)
    for chat in chats:
        await queue(sqlite, chat, parts(chat, 1))
    fake.storm(2, retry_after=1)

    async with sending(sqlite, fake, rate=20):
        await fake.wait_sent(count=10, timeout=20)

    assert Counter(m.chat_id for m in fake.sent) == dict.fromkeys(chats, 1)
    assert [received(fake, c) for c in chats] == [parts(c, 1) for c in chats]
    assert assert_paused_after_every_429(fake) == 2
    assert all(sent for _c, _t, sent, _e, _a in await rows(sqlite))


async def test_sending_faster_than_telegram_allows_is_slowed_by_429s_and_loses_nothing(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    chats = range(1, 13)
    for chat in chats:
        await queue(sqlite, chat, parts(chat, 1))
    fake.rate_limit(5)  # the sender believes 20/s is fine: Telegram disagrees

    async with sending(sqlite, fake, rate=20):
        await fake.wait_sent(count=12, timeout=30)

    assert Counter(m.chat_id for m in fake.sent) == dict.fromkeys(chats, 1)
    assert assert_paused_after_every_429(fake) >= 1
    assert all(sent for _c, _t, sent, _e, _a in await rows(sqlite))


@pytest.mark.parametrize("status", [500, 502])
async def test_a_server_error_is_retried_and_the_message_delivered_once(
    sqlite: AsyncEngine, fake: FakeTelegram, status: int
) -> None:
    await queue(sqlite, 5, parts(5, 2))
    fake.fail_next(1, status)

    async with sending(sqlite, fake):
        await fake.wait_sent(count=2)

    assert received(fake, 5) == parts(5, 2)
    assert fake.stats.server_errors == 1
    assert [(sent, attempts) for _c, _t, sent, _e, attempts in await rows(sqlite)] == [
        (True, 1),
        (True, 0),
    ]


async def test_an_upgraded_group_gets_its_digest_at_the_supergroup_and_keeps_it(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    old, new = -100555, -1001234567890
    await queue(sqlite, old, parts(old, 2))
    fake.register_chat(old)  # a group that subscribed before it was upgraded
    fake.migrate(old, new)

    async with sending(sqlite, fake):
        await fake.wait_sent(chat_id=new, count=2)

    subs = SubscriberRepo(sqlite)
    moved = await subs.get(new)
    assert received(fake, new) == parts(old, 2)
    assert received(fake, old) == []
    assert len(fake.errors) == 1  # the old id was tried once: its second part went to the new
    assert await subs.get(old) is None
    assert moved is not None and moved.status == "active"
    assert [(chat, sent) for chat, _t, sent, _e, _a in await rows(sqlite)] == [(new, True)] * 2


async def test_a_part_telegram_refuses_is_marked_failed_and_the_rest_still_goes(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    first, last = parts(9, 2)
    await queue(sqlite, 9, [first, "<b>незакрытый тег", last])

    async with sending(sqlite, fake):
        await fake.wait_sent(count=2)

    assert received(fake, 9) == [first, last]
    states = [(sent, error is not None) for _c, _t, sent, error, _a in await rows(sqlite)]
    assert states == [(True, False), (False, True), (True, False)]
    sub = await SubscriberRepo(sqlite).get(9)
    assert sub is not None and sub.status == "active"


async def test_drain_finishes_the_message_in_flight_records_it_and_stops(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    chats = range(1, 7)
    for chat in chats:
        await queue(sqlite, chat, parts(chat, 2))

    async with sending(sqlite, fake, rate=5) as sender:
        await fake.wait_sent(count=1)  # its reply may not have reached the sender yet
        await sender.drain(5.0)

    accepted = sorted((m.chat_id, m.html) for m in fake.sent)
    recorded = sorted((chat, text) for chat, text, sent, _e, _a in await rows(sqlite) if sent)
    assert accepted == recorded
    assert 1 <= len(accepted) <= 2  # the chats still waiting for their turn were not sent to
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("sender")] == []


async def test_a_server_error_in_a_forum_topic_is_retried_and_the_topic_stays_subscribed(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    forum, topic = -1002000000000, 5
    now = datetime.now(UTC)
    subs = SubscriberRepo(sqlite)
    sub = Subscriber(
        forum,
        "ru",
        None,
        None,
        "daily",
        ("09:00",),
        "UTC",
        "active",
        0,
        None,
        now,
        thread_id=topic,
        kind="topic",
    )
    await subs.create(sub, now)
    digest = parts(forum, 1)
    await plan(OutboxRepo(sqlite), Place(forum, topic), lambda _s, _r: Plan(digest, None), now)
    fake.fail_next(1, 502)

    async with sending(sqlite, fake):
        fake.open_topic(forum, topic)
        [delivered] = await fake.wait_sent(count=1)

    assert (delivered.html, delivered.thread_id) == (digest[0], topic)
    kept = await subs.get(Place(forum, topic))
    assert kept is not None and kept.status == "active"


async def test_the_senders_log_lines_name_the_chat_they_are_about(
    sqlite: AsyncEngine, fake: FakeTelegram
) -> None:
    """LOG_FORMAT=json: a retried send's warning carries the chat's id as a field."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bot.delivery")
    logger.addHandler(handler)
    try:
        await queue(sqlite, 5, parts(5, 1))
        fake.fail_next(1, 502)
        async with sending(sqlite, fake):
            await fake.wait_sent(count=1)
    finally:
        logger.removeHandler(handler)

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    retried = [r for r in records if "will be retried" in r["message"]]
    assert [r.get("chat_id") for r in retried] == [5]
