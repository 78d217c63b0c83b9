"""Webhook delivery of the fake Telegram: POST each update to the bot, again until it gets 2xx.

https://core.telegram.org/bots/api#setwebhook: "Whenever there is an update for the bot, we
will send an HTTPS POST request to the specified URL, containing a JSON-serialized Update. In
case of an unsuccessful request (a request with response HTTP status code different from
2XY), we will repeat the request and give up after a reasonable amount of attempts." And: "If
specified, the request will contain a header 'X-Telegram-Bot-Api-Secret-Token' with the secret
token as content." Updates are kept until answered with 2xx (getWebhookInfo counts them in
pending_update_count). A POST the bot answered, whatever the status, showed it the chats in it.

The webhook URL is a public https address, as Telegram requires; a test routes it to the bot's
local server with `route_webhook(base_url)`, as the reverse proxy in front of the bot would.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_SECONDS = 0.2  # Telegram waits longer between attempts; tests need not
POST_TIMEOUT = 10.0


class WebhookMixin:
    """Delivers queued updates to the routed webhook; the state lives on FakeTelegram."""

    def _init_webhook(self) -> None:
        self.webhook_target = ""  # where the "reverse proxy" forwards the webhook URL's path
        # (update_id, HTTP status, or None when no answer came) for every POST made
        self.webhook_posts: list[tuple[int, int | None]] = []
        self._lost_answers = 0
        self._webhook_session: ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    def route_webhook(self, base_url: str) -> None:
        """Send webhook POSTs to `base_url` + the webhook URL's path (a reverse proxy)."""
        self.webhook_target = base_url.rstrip("/")
        if self._webhook_task is None:
            self._webhook_session = ClientSession(timeout=ClientTimeout(total=POST_TIMEOUT))
            self._webhook_task = asyncio.create_task(self._deliver_webhook(), name="fake-webhook")

    def lose_webhook_answers(self, n: int = 1) -> None:
        """The bot's answers to the next n POSTs never reach Telegram (a proxy timed out, the
        connection broke): Telegram counts them unsuccessful and sends the update again."""
        self._lost_answers += n

    def posts_of(self, update_id: int) -> list[int | None]:
        """The answers the bot gave to each POST of one update, in order."""
        return [status for uid, status in self.webhook_posts if uid == update_id]

    async def _close_webhook(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
            self._webhook_task = None
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None

    async def _deliver_webhook(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closing:
            wake = self._wake  # before looking: a push after the look sets this one
            queued = self._next_for_webhook()
            if queued is None:
                await wake.wait()
                continue
            status = await self._post_update(queued[2])
            if status is not None:  # the bot read the update, whatever Telegram heard back
                self._delivered([queued[2]], loop.time())
            ok = status is not None and 200 <= status < 300
            if ok and self._lost_answers:
                self._lost_answers -= 1
                ok = False
            if ok:
                with contextlib.suppress(ValueError):
                    self._updates.remove(queued)
            await self._notify()
            if not ok:
                await asyncio.sleep(RETRY_SECONDS)

    def _next_for_webhook(self) -> tuple[int, str, dict[str, Any]] | None:
        if not self.webhook["url"] or not self.webhook_target:
            return None
        allowed = self.webhook.get("allowed_updates")
        return next(
            (q for q in self._updates if not allowed or q[1] in allowed),
            None,
        )

    async def _post_update(self, update: dict[str, Any]) -> int | None:
        assert self._webhook_session is not None
        parts = urlsplit(self.webhook["url"])
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        headers = {}
        if self.webhook.get("secret_token"):
            headers[SECRET_HEADER] = self.webhook["secret_token"]
        status: int | None = None
        try:
            async with self._webhook_session.post(
                self.webhook_target + path, json=update, headers=headers
            ) as response:
                await response.read()
                status = response.status
        except (ClientError, TimeoutError):
            status = None
        self.webhook_posts.append((update["update_id"], status))
        return status
