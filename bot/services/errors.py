"""Errors a user can fix: a message key and its values, translated at the Telegram edge."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from a user; nothing was changed. `key` names the message, `params` fill it."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(f"{key}: {params}" if params else key)
        self.key = key
        self.params = params
