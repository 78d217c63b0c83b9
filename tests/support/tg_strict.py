"""What Telegram refuses that a lenient fake would let through: unknown chats, users who never
wrote, overlapping long polls, webhooks, stale callback queries and dropped connections.

A chat becomes known to the bot when an update naming it is DELIVERED by getUpdates (Telegram
gives the bot access to a chat only once it has seen it), or when a test registers it.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from tests.support import updates
from tests.support.tg_rules import ApiError, as_bool, as_json

# Telegram answers any method naming a chat it never showed the bot this way: seen on the
# real API for setMyCommands with BotCommandScopeChat naming an admin who never wrote (our
# own first deployment crashed on it), and for sendMessage to an id the bot never saw.
CHAT_NOT_FOUND = "Bad Request: chat not found"
# A user the bot knows (say, from a group) but who never pressed Start in a private chat:
# "Bots can't initiate conversations with users. A user must either add them to a group or
# send them a message first." (https://core.telegram.org/bots/features).
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
# Two long polls at once: the older is ended (irazasyed/telegram-bot-sdk#801 quotes the text).
POLL_CONFLICT = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)
# getUpdates while a webhook is set (reo7sp/tgbot-cpp#158, m1guelpf/chatgpt-telegram#40).
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
# A long poll in flight when setWebhook arrives (python-telegram-bot reports of
# "Conflict: terminated by setWebhook request").
BY_WEBHOOK = "terminated by setWebhook request"
# tdlib/telegram-bot-api#665: setWebhook with an http:// URL on the public server.
HTTPS_REQUIRED = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
BAD_PORT = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
BAD_SECRET = "Bad Request: secret token contains unallowed characters"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# https://core.telegram.org/bots/api#answercallbackquery: the answer must come promptly;
# Telegram's clients wait about 15 s, after which the query ID is refused with this text.
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
QUERY_LIFETIME = 15.0
SCOPES_WITH_CHAT = frozenset({"chat", "chat_member", "chat_administrators"})


class StrictMixin:
    """Known chats, the single long poll, webhook state, query ages and network faults."""

    def _init_strict(self) -> None:
        self.known_chats: set[int | str] = set()
        self.started_users: set[int] = set()  # private chats whose user wrote to the bot
        self.webhook: dict[str, Any] = {"url": ""}
        self._poll_gen = 0
        self._poll_end = ""
        self._query_at: dict[str, float] = {}
        self._query_age = 0.0
        self._drops: Counter[str] = Counter()
        self._hangs: Counter[str] = Counter()
        self._closed = asyncio.Event()

    # -- what tests call -------------------------------------------------------------------

    def register_chat(
        self,
        chat_id: int | str,
        chat_type: str | None = None,
        *,
        user_id: int | None = None,
        title: str | None = None,
    ) -> None:
        """Declare a chat the bot has seen before; a private one's user has pressed Start.

        chat_type defaults from the id: private if positive, else group or supergroup (-100...).
        """
        chat_type = chat_type or updates.chat_for_id(chat_id)["type"]
        if isinstance(chat_id, int):
            self._chats[chat_id] = updates.chat(chat_id, chat_type, title=title)
        self.known_chats.add(chat_id)
        if chat_type == "private":
            self.started_users.add(user_id if user_id is not None else int(chat_id))
        elif user_id is not None:
            self.known_chats.add(user_id)  # a member the bot saw, who never wrote privately

    def age_callback_queries(self, seconds: float) -> None:
        """Make every delivered callback query `seconds` older, as if that time had passed."""
        self._query_age += seconds

    def user_deletes(self, chat_id: int | str, message_id: int) -> None:
        """The user deleted a message: editing or deleting it is refused from now on."""
        self._messages.pop((chat_id, message_id), None)

    def drop_next(self, method: str, n: int = 1) -> None:
        """Close the connection of the next n calls of `method` without any answer."""
        self._drops[method.lower()] += n

    def hang_next(self, method: str, n: int = 1) -> None:
        """Never answer the next n calls of `method` (until the client gives up or we close)."""
        self._hangs[method.lower()] += n

    # -- checks the methods run -------------------------------------------------------------

    def _require_chat(self, chat_id: int | str) -> None:
        if chat_id not in self.known_chats:
            raise ApiError(400, CHAT_NOT_FOUND)

    def _require_writable(self, chat_id: int | str) -> None:
        self._require_chat(chat_id)
        if isinstance(chat_id, int) and chat_id > 0 and chat_id not in self.started_users:
            raise ApiError(403, CANT_INITIATE)

    def _require_scope(self, scope: dict[str, Any] | None) -> None:
        if scope and scope.get("type") in SCOPES_WITH_CHAT:
            chat_id = scope.get("chat_id")
            self._require_chat(int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id)

    async def _network_fault(self, method: str, request: Any) -> bool:
        """Act out a dropped or hung call; True when the request must get no answer."""
        if self._drops[method]:
            self._drops[method] -= 1
            request.transport.abort()  # the client sees the connection closed, no reply
        elif self._hangs[method]:
            self._hangs[method] -= 1
        else:
            return False
        await self._closed.wait()  # ended by aiohttp when the client hangs up, or at close
        return True

    # -- delivery ---------------------------------------------------------------------------

    def _delivered(self, batch: list[dict[str, Any]], now: float) -> None:
        """The bot has now seen these chats and users, and these callback queries."""
        for update in batch:
            query = update.get("callback_query")
            if query is not None:
                self._query_at.setdefault(query["id"], now)
                self._saw(query["message"]["chat"], query["from"])
                continue
            for kind in ("message", "edited_message", "my_chat_member", "chat_member"):
                payload = update.get(kind)
                if payload is not None:
                    self._saw(payload["chat"], payload.get("from"))

    def _saw(self, chat: dict[str, Any], sender: dict[str, Any] | None) -> None:
        self.known_chats.add(chat["id"])
        if sender is not None:
            self.known_chats.add(sender["id"])
        if chat["type"] == "private":
            self.started_users.add(chat["id"])

    def _query_expired(self, query_id: str, now: float) -> bool:
        at = self._query_at.pop(query_id, None)
        return at is None or now + self._query_age - at > QUERY_LIFETIME

    # -- long polling and webhooks ----------------------------------------------------------

    def _begin_poll(self) -> int:
        if self.webhook["url"]:
            raise ApiError(409, WEBHOOK_ACTIVE)
        self._end_polls(POLL_CONFLICT)
        return self._poll_gen

    def _end_polls(self, reason: str) -> None:
        self._poll_gen += 1
        self._poll_end = reason
        self._wake_pollers()

    def _check_poll(self, gen: int) -> None:
        if gen != self._poll_gen:
            raise ApiError(409, f"Conflict: {self._poll_end}")

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise ApiError(400, HTTPS_REQUIRED)
        if (parts.port or 443) not in (80, 88, 443, 8443):
            raise ApiError(400, BAD_PORT)
        secret = params.get("secret_token")
        if secret not in (None, "") and not _SECRET.match(str(secret)):
            raise ApiError(400, BAD_SECRET)
        # tdlib/telegram-bot-api clamps max_connections into 1..100 (default 40).
        connections = min(max(int(params.get("max_connections") or 40), 1), 100)
        allowed = as_json(params.get("allowed_updates"), "allowed_updates")
        if as_bool(params.get("drop_pending_updates")):
            self._updates.clear()
        self.webhook = {
            "url": url,
            "secret_token": secret or None,
            "max_connections": connections,
            "allowed_updates": allowed,
        }
        self._end_polls(BY_WEBHOOK)
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if as_bool(params.get("drop_pending_updates")):
            self._updates.clear()  # as Telegram does: queued updates are gone
        self.webhook = {"url": ""}
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook["url"]:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook["allowed_updates"] is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info
