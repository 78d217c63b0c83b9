"""Files in the fake Telegram behave as the Bot API documents them, seen from aiogram's client."""

from __future__ import annotations

import io

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, Update

from tests.support.fake_telegram import FakeTelegram

CHAT = 1001


async def next_message(bot: Bot) -> dict:
    """The message of the next update, as aiogram parsed it (dumped back to a dict)."""
    [update] = await bot.get_updates(timeout=1)
    assert isinstance(update, Update) and update.message is not None
    return update.message.model_dump(exclude_none=True)


async def test_a_document_with_a_caption_arrives_and_downloads_byte_for_byte(
    fake: FakeTelegram, bot: Bot
) -> None:
    content = "<opml><head><title>Жаңалықтар</title></head></opml>".encode() * 100
    fake.document(CHAT, "feeds.opml", content, caption="/import")
    msg = await next_message(bot)
    assert msg["caption"] == "/import"
    assert msg["caption_entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    assert (msg["document"]["file_name"], msg["document"]["file_size"]) == (
        "feeds.opml",
        len(content),
    )
    buffer = io.BytesIO()
    await bot.download(msg["document"]["file_id"], destination=buffer)
    assert buffer.getvalue() == content


async def test_a_reply_carries_the_message_it_answers(fake: FakeTelegram, bot: Bot) -> None:
    doc_id = fake.document(CHAT, "feeds.xml", b"<opml/>")
    await bot.get_updates(timeout=1)
    fake.reply(CHAT, doc_id, "/import")
    [update] = await bot.get_updates(offset=-1, timeout=1)
    replied = update.message.reply_to_message
    assert replied is not None and replied.document is not None
    assert (replied.message_id, replied.document.file_name) == (doc_id, "feeds.xml")
    with pytest.raises(LookupError):
        fake.reply(CHAT, 999, "/import")


async def test_getfile_refuses_unknown_ids_and_files_over_20_mb(
    fake: FakeTelegram, bot: Bot
) -> None:
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nosuch")
    fake.document(CHAT, "big.opml", b"x" * (20 * 1024 * 1024 + 1))
    big = (await next_message(bot))["document"]["file_id"]
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big)


async def test_a_file_url_needs_the_bots_token(fake: FakeTelegram, bot: Bot) -> None:
    fake.document(CHAT, "a.opml", b"<opml/>")
    file = await bot.get_file((await next_message(bot))["document"]["file_id"])
    async with aiohttp.ClientSession() as http:
        ok = await http.get(f"{fake.url}/file/bot{fake.token}/{file.file_path}")
        assert (ok.status, await ok.read()) == (200, b"<opml/>")
        wrong = await http.get(f"{fake.url}/file/bot1:other/{file.file_path}")
        assert wrong.status == 401
        missing = await http.get(f"{fake.url}/file/bot{fake.token}/documents/nosuch.bin")
        assert missing.status == 404


async def test_senddocument_uploads_checks_the_caption_and_the_chat(
    fake: FakeTelegram, bot: Bot
) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_document(CHAT, BufferedInputFile(b"<opml/>", "feeds.opml"))
    fake.register_chat(CHAT)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(
            CHAT, BufferedInputFile(b"<opml/>", "feeds.opml"), caption="я" * 1025
        )
    with pytest.raises(TelegramBadRequest, match="file must be non-empty"):
        await bot.send_document(CHAT, BufferedInputFile(b"", "feeds.opml"))
    assert fake.documents == []

    sent = await bot.send_document(
        CHAT, BufferedInputFile(b"<opml/>", "feeds.opml"), caption="я" * 1024
    )
    assert sent.document is not None and sent.document.file_name == "feeds.opml"
    [doc] = fake.documents
    assert (doc.chat_id, doc.file_name, doc.content) == (CHAT, "feeds.opml", b"<opml/>")
    assert doc.caption == "я" * 1024
