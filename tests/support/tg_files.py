"""Files in the fake Telegram: users send documents, the bot downloads them and sends its own.

As the Bot API describes them (https://core.telegram.org/bots/api):
- A Document message carries `document` (file_id, file_unique_id, file_name, mime_type,
  file_size) and an optional `caption` with `caption_entities` (#message, #document).
- getFile returns a File with `file_path`; the bytes are then at
  `<server>/file/bot<token>/<file_path>`. "For the moment, bots can download files of up to
  20MB in size": a larger file is refused by getFile with 400 "Bad Request: file is too big"
  (#getfile). An unknown file_id is 400 "Bad Request: invalid file_id".
- sendDocument takes the document as a multipart upload; "Bots can currently send files of
  any type of up to 50 MB in size", and a caption is 0-1024 characters after entities
  parsing (#senddocument, #sending-files).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support import updates
from tests.support.tg_api import chat_param
from tests.support.tg_html import utf16_len
from tests.support.tg_rules import ApiError, as_json, render

MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile: bots download at most 20 MB
MAX_UPLOAD = 50 * 1024 * 1024  # sendDocument: bots upload at most 50 MB
MAX_CAPTION = 1024


@dataclass(frozen=True, slots=True)
class SentDocument:
    """A document the bot sent: where, its name and bytes, and the caption as shown."""

    chat_id: int | str
    message_id: int
    file_name: str
    content: bytes
    caption: str


class FilesMixin:
    """Document messages, getFile, file downloads and sendDocument on FakeTelegram's state."""

    def _init_files(self) -> None:
        self.documents: list[SentDocument] = []
        self._files: dict[str, bytes] = {}
        self._sent_messages: dict[tuple[int, int], dict[str, Any]] = {}

    def file_methods(self) -> dict[str, Any]:
        """The Bot API methods this mixin answers, by lower-cased name."""
        return {"getfile": self._get_file, "senddocument": self._send_document}

    def add_file_route(self, app: web.Application) -> None:
        """Serve downloads at /file/bot<token>/<file_path>, as api.telegram.org does."""
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)

    def document(
        self,
        chat_id: int,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
        user_id: int | None = None,
        language_code: str | None = "ru",
        size: int | None = None,
    ) -> int:
        """Queue a document message from a user; returns its message_id (to reply to it).

        `size` makes Telegram report another file_size than len(content) (a huge upload).
        """
        file_id = f"doc{len(self._files) + 1}"
        self._files[file_id] = content
        doc = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content) if size is None else size,
        }
        extra: dict[str, Any] = {"document": doc}
        if caption:
            extra["caption"] = caption
            extra["caption_entities"] = updates.command_entities(caption) or None
        return self._user_message(chat_id, user_id, language_code, None, extra)

    def reply(
        self,
        chat_id: int,
        to_message_id: int,
        text: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "ru",
    ) -> int:
        """Queue a text message replying to an earlier message of the chat; returns its id."""
        original = self._sent_messages.get((chat_id, to_message_id))
        if original is None:
            raise LookupError(f"no message {to_message_id} in chat {chat_id} to reply to")
        extra = {"reply_to_message": original}
        return self._user_message(chat_id, user_id, language_code, text, extra)

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        language_code: str | None,
        text: str | None,
        extra: dict[str, Any],
    ) -> int:
        chat = self._chats.get(chat_id) or updates.chat_for_id(chat_id)
        self._chats[chat_id] = chat
        sender = updates.user(self._user_id(chat_id, user_id), language_code=language_code)
        message_id = self._new_message_id()
        msg = updates.message(message_id, chat, sender, text, **extra)
        self._sent_messages[(chat_id, message_id)] = msg
        self._push("message", lambda uid: updates.message_update(uid, msg))
        return message_id

    async def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        content = self._files.get(file_id)
        if content is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": f"documents/{file_id}.bin",
        }

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        file_id = path.removeprefix("documents/").removesuffix(".bin")
        content = self._files.get(file_id)
        if content is None or not path.startswith("documents/"):
            return web.Response(status=404, text="Not Found")
        return web.Response(body=content, content_type="application/octet-stream")

    async def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat_param(params)
        now = asyncio.get_running_loop().time()
        self._require_writable(chat_id)
        self.faults.check_chat(chat_id)
        self.limits.check(chat_id, now)
        upload = params.get("document")
        if isinstance(upload, str) and upload.startswith("attach://"):
            # The multipart part named after attach:// (#inputfile), as aiogram uploads.
            upload = params.get(upload.removeprefix("attach://"))
        if not isinstance(upload, web.FileField):
            # A file_id or URL string would name a file Telegram has; this fake keeps none.
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        content = upload.file.read()
        if not content:
            raise ApiError(400, "Bad Request: file must be non-empty")
        if len(content) > MAX_UPLOAD:
            raise ApiError(413, "Request Entity Too Large")
        raw = params.get("caption") or ""
        caption = render({"text": raw, "parse_mode": params.get("parse_mode")}) if raw else None
        caption_text = caption.text if caption is not None else ""
        if utf16_len(caption_text) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        as_json(params.get("reply_markup"))
        self.limits.note(chat_id, now)
        message_id = self._new_message_id()
        sent = SentDocument(chat_id, message_id, upload.filename, content, caption_text)
        self.documents.append(sent)
        await self._notify()
        file_id = f"sent{message_id}"
        self._files[file_id] = content
        payload: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": upload.filename,
                "mime_type": upload.content_type,
                "file_size": len(content),
            },
        }
        if caption_text:
            payload["caption"] = caption_text
        return payload

    async def wait_document(self, chat_id: int | str, *, after: int = 0) -> SentDocument:
        """Wait for a document sent to chat_id (past the first `after` in self.documents)."""

        def found() -> bool:
            return any(d.chat_id == chat_id for d in self.documents[after:])

        await self.wait_until(found)
        return next(d for d in self.documents[after:] if d.chat_id == chat_id)
