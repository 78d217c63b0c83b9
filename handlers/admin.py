"""/addfeed /delfeed /feeds /stats for ADMIN_IDS, and one refusal for everyone else."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import ADMIN_COMMANDS
from bot.services.feed_admin import FeedAdmin
from bot.services.feed_admin import FeedRow as Feed
from bot.services.stats import StatsSource
from handlers.errors import feed_reason
from handlers.texts import NO_PREVIEW, cut, help_text, pack, when, zone_text

TITLE_MAX = 200
URL_MAX = 500


def feed_block(feed: Feed, tz: str) -> str:
    """One feed in /feeds: id and title, URL, item count and last success, last error."""
    lines = [
        f"#{feed.id} {cut(feed.title, TITLE_MAX) or '—'}",
        cut(feed.url, URL_MAX),
        _("Items: {count}; last success: {when}").format(
            count=feed.item_count, when=when(feed.last_success_at, tz)
        ),
    ]
    if feed.last_error_kind:
        lines.append(
            _("Last error: {reason} ({when}); failures in a row: {count}").format(
                reason=feed_reason(feed.last_error_kind),
                when=when(feed.last_error_at, tz),
                count=feed.failure_count,
            )
        )
    return "\n".join(lines)


async def cmd_addfeed(message: Message, command: CommandObject, feed_admin: FeedAdmin) -> None:
    """/addfeed URL [ru|kk|en]: fetch it, and store it with its items only if it is a feed."""
    words = (command.args or "").split()
    if not 1 <= len(words) <= 2:
        await message.answer(_("Usage: /addfeed URL [ru|kk|en]"))
        return
    added = await feed_admin.add(words[0], words[1].lower() if len(words) == 2 else None)
    feed = added.feed
    name = cut(feed.title or feed.url, TITLE_MAX)
    title = _("Feed #{id} added: {title}").format(id=feed.id, title=name)
    count = _("{count} item stored", "{count} items stored", added.items)
    text = f"✅ {title}\n{feed.url}\n{count.format(count=added.items)}"
    await message.answer(text, link_preview_options=NO_PREVIEW)


async def cmd_delfeed(message: Message, command: CommandObject, feed_admin: FeedAdmin) -> None:
    """/delfeed ID|URL: remove a feed; its items stay."""
    if not command.args:
        await message.answer(_("Usage: /delfeed ID or /delfeed URL"))
        return
    feed = await feed_admin.remove(command.args)
    text = _("Feed #{id} removed: {title}. Its items stay.").format(
        id=feed.id, title=cut(feed.title or feed.url, TITLE_MAX)
    )
    await message.answer(text, link_preview_options=NO_PREVIEW)


async def cmd_feeds(message: Message, feed_admin: FeedAdmin, settings_tz: str) -> None:
    """/feeds: every feed with its status, in as many messages as Telegram's limit needs."""
    feeds = await feed_admin.list()
    if not feeds:
        await message.answer(_("No feeds yet. Add one: /addfeed URL [ru|kk|en]"))
        return
    head = _("Feeds: {count}. Times are in {tz}").format(
        count=len(feeds), tz=zone_text(settings_tz)
    )
    for part in pack([head, *(feed_block(f, settings_tz) for f in feeds)]):
        await message.answer(part, link_preview_options=NO_PREVIEW)


async def cmd_stats(message: Message, stats: StatsSource) -> None:
    """/stats: subscribers, feeds, items, messages sent in 24 hours, sends repeated."""
    s = await stats()
    lines = (
        _("Subscribers: {active} active, {inactive} inactive").format(
            active=s.active, inactive=s.inactive
        ),
        _("Feeds: {feeds}, failing: {failing}").format(feeds=s.feeds, failing=s.failing_feeds),
        _("Items: {items}").format(items=s.items),
        _("Messages sent in 24 hours: {sent}").format(sent=s.sent_24h),
        _("Sent again after a network timeout, since start: {count}").format(
            count=s.resent_after_timeout
        ),
    )
    await message.answer("\n".join(lines))


async def cmd_admin_help(message: Message) -> None:
    """/help for an admin: the subscriber commands and the admin ones."""
    await message.answer(help_text(admin=True))


async def refuse(message: Message) -> None:
    """An admin command from anyone else: refuse, change nothing."""
    await message.answer(_("This command is for admins only. Nothing was changed."))


def make_routers(admin_ids: frozenset[int]) -> list[Router]:
    """The admin router (filtered on the router) and, after it, the refusal for the rest."""
    admin = Router(name=__name__)
    admin.message.filter(F.from_user.id.in_(admin_ids))
    admin.message.register(cmd_addfeed, Command("addfeed"))
    admin.message.register(cmd_delfeed, Command("delfeed"))
    admin.message.register(cmd_feeds, Command("feeds"))
    admin.message.register(cmd_stats, Command("stats"))
    admin.message.register(cmd_admin_help, Command("help"))
    refusal = Router(name=f"{__name__}.refusal")
    refusal.message.register(refuse, Command(*(name for name, _text in ADMIN_COMMANDS)))
    return [admin, refusal]
