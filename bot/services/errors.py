"""Errors a user or an admin can fix: stable keys and values, translated at the Telegram edge."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from a user; nothing was changed. `key` names the message, `params` fill it."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(f"{key}: {params}" if params else key)
        self.key = key
        self.params = params
        self.where = ""  # the place configured from another chat (/chats), named in the reply


class FeedAdminError(Exception):
    """A feed could not be added or removed; `reason` is a stable key, `detail` is for humans.

    It lives here, away from storage, so the Telegram edge can catch it by type.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
