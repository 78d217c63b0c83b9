"""Groups, channels and forum topics in the fake Telegram: members and their statuses
(getChatMember), the bot added or removed (my_chat_member), and topics that close or vanish.

Sources, as the fake answers:
- getChatMember returns a ChatMember whose `status` is creator, administrator, member,
  restricted, left or kicked (https://core.telegram.org/bots/api#getchatmember,
  https://core.telegram.org/bots/api#chatmember); a user id Telegram does not know gives
  "Bad Request: user not found".
- my_chat_member: "The bot's chat member status was updated in a chat" with chat, from (who
  did it), date, old_chat_member and new_chat_member
  (https://core.telegram.org/bots/api#update, #chatmemberupdated). A bot is added to a
  channel only as an administrator.
- An anonymous group administrator's messages come from GroupAnonymousBot with `sender_chat`
  set to the group itself (https://core.telegram.org/bots/api#message, `sender_chat`).
- Forum topics: a message in a topic carries `message_thread_id` and `is_topic_message`
  (https://core.telegram.org/bots/api#message); sendMessage takes `message_thread_id`. A
  closed topic refuses with "Bad Request: TOPIC_CLOSED" (userbotindo/Anjani#366), a deleted
  one with "Bad Request: message thread not found" (tdlib/telegram-bot-api#854, #693).
- A title change reaches the bot as a service message with `new_chat_title`: a `message` in
  a group, a `channel_post` (from the channel itself, `sender_chat`) in a channel
  (https://core.telegram.org/bots/api#message, `new_chat_title`).
- A bot removed from a group or channel gets 403 for sends: "Forbidden: bot was kicked from
  the supergroup chat" / "Forbidden: bot is not a member of the channel chat".
"""

from __future__ import annotations

from typing import Any

from tests.support import updates
from tests.support.tg_rules import ApiError

ANONYMOUS_ADMIN = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
TOPIC_CLOSED = "Bad Request: TOPIC_CLOSED"
THREAD_NOT_FOUND = "Bad Request: message thread not found"
USER_NOT_FOUND = "Bad Request: user not found"
_ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
)


def chat_member(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember object of this status, with the fields its kind requires."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(dict.fromkeys(_ADMIN_RIGHTS, False))
        member.update(can_manage_chat=True, can_post_messages=True, can_manage_topics=True)
    elif status == "kicked":
        member["until_date"] = 0
    return member


class ChatsMixin:
    """Member statuses, the bot's own membership, and forum topics."""

    def _init_chats(self) -> None:
        self.members: dict[tuple[int, int], str] = {}  # (chat, user) -> status
        self.topics: dict[tuple[int, int], str] = {}  # (chat, thread) -> open|closed|deleted
        self.seen_users: dict[int, dict[str, Any]] = {}

    # -- what tests call -------------------------------------------------------------------

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Make the user a creator, administrator, member, left or kicked user of the chat."""
        self.members[(chat_id, user_id)] = status

    def open_topic(self, chat_id: int, thread_id: int) -> None:
        """Make the chat a forum supergroup with this topic open."""
        chat = self._chats.setdefault(chat_id, updates.chat(chat_id, "supergroup"))
        chat["is_forum"] = True
        self.topics[(chat_id, thread_id)] = "open"

    def close_topic(self, chat_id: int, thread_id: int, *, by: int | None = None) -> int | None:
        """An administrator closed the topic: sends to it are refused with TOPIC_CLOSED.

        With `by`, the bot also gets the service message (forum_topic_closed) in the topic,
        as when it can read the group's messages; returns its update id.
        """
        self.topics[(chat_id, thread_id)] = "closed"
        if by is None:
            return None
        chat = self._chats[chat_id]
        extra = {"forum_topic_closed": {}, **self._topic_fields(chat_id, thread_id)}
        msg = updates.message(self._new_message_id(), chat, updates.user(by), **extra)
        return self._push("message", lambda uid: updates.message_update(uid, msg))

    def rename_chat(self, chat_id: int, title: str, *, by: int) -> int:
        """An administrator renamed the group or channel: the bot gets the service message."""
        chat = self._chats[chat_id]
        chat["title"] = title
        if chat["type"] == "channel":
            msg = updates.message(
                self._new_message_id(), chat, None, new_chat_title=title, sender_chat=chat
            )
            return self._push("channel_post", lambda uid: {"update_id": uid, "channel_post": msg})
        msg = updates.message(self._new_message_id(), chat, updates.user(by), new_chat_title=title)
        return self._push("message", lambda uid: updates.message_update(uid, msg))

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """The topic was deleted: sends to it get "message thread not found"."""
        self.topics[(chat_id, thread_id)] = "deleted"

    def my_chat_member(
        self,
        chat_id: int,
        chat_type: str,
        status: str,
        *,
        by: int,
        title: str | None = None,
        old: str = "left",
        language_code: str | None = "ru",
    ) -> int:
        """Queue the bot's own membership change in a group or channel, made by user `by`."""
        chat = updates.chat(chat_id, chat_type, title=title)
        self._chats[chat_id] = chat
        if status in ("left", "kicked"):
            where = "channel" if chat_type == "channel" else "supergroup"
            text = (
                "bot was kicked from the" if status == "kicked" else "bot is not a member of the"
            )
            self.faults.chats[chat_id] = ApiError(403, f"Forbidden: {text} {where} chat")
        else:
            self.faults.chats.pop(chat_id, None)
        sender = updates.user(by, language_code=language_code)
        payload = {
            "chat": chat,
            "from": sender,
            "date": updates.now_ts(),
            "old_chat_member": chat_member(self.bot_user, old),
            "new_chat_member": chat_member(self.bot_user, status),
        }
        return self._push(
            "my_chat_member", lambda uid: {"update_id": uid, "my_chat_member": payload}
        )

    # -- methods -----------------------------------------------------------------------------

    async def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params.get("chat_id") or 0)
        user_id = int(params.get("user_id") or 0)
        self._require_chat(chat_id)
        self.faults.check_chat(chat_id)
        user = self.seen_users.get(user_id)
        status = self.members.get((chat_id, user_id))
        if user is None and status is None:
            raise ApiError(400, USER_NOT_FOUND)
        user = user or updates.user(user_id)
        if status is None:  # someone the bot saw write there is a member
            status = "member" if (chat_id, user_id) in self._wrote_in else "left"
        return chat_member(user, status)

    def _check_thread(self, chat_id: int | str, params: dict[str, Any]) -> int | None:
        raw = params.get("message_thread_id")
        if raw in (None, "", 0, "0"):
            return None
        thread = int(raw)
        state = self.topics.get((chat_id, thread)) if isinstance(chat_id, int) else None
        if state is None or state == "deleted":
            raise ApiError(400, THREAD_NOT_FOUND)
        if state == "closed":
            raise ApiError(400, TOPIC_CLOSED)
        return thread

    def _topic_fields(self, chat_id: int, thread_id: int | None) -> dict[str, Any]:
        """The message fields of a message in a forum topic (none outside topics)."""
        if not thread_id:
            return {}
        if (chat_id, thread_id) not in self.topics:
            self.open_topic(chat_id, thread_id)
        return {"message_thread_id": thread_id, "is_topic_message": True}
