"""/keywords: list, add, remove and clear a place's keyword alerts (routed with /topics)."""

from __future__ import annotations

from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services.subscriptions import Place, Subscriber, Subscriptions
from feeds.keywords import MAX_CHARS, MAX_TERMS
from handlers.texts import NO_PREVIEW, named, pack


def usage() -> str:
    """How /keywords is used, with its limits."""
    return "\n".join(
        (
            _('/keywords add word "a phrase" -exclusion — add keywords'),
            _("/keywords remove word — remove one"),
            _("/keywords clear — remove them all"),
            _(
                "News naming a keyword comes first in your digests, under its own heading, even "
                "outside your topics; news naming an excluded word never comes. Words match in "
                "any form (забастовка finds забастовки). At most {limit} keywords, {chars} "
                "characters each. /topics none leaves only keyword alerts."
            ).format(limit=MAX_TERMS, chars=MAX_CHARS),
        )
    )


def listing(sub: Subscriber) -> list[str]:
    """The place's keywords (exclusions marked), then the usage, as blocks of a reply."""
    if not sub.keywords:
        return [_("No keywords yet."), usage()]
    lines = [
        _("{term} (excluded)").format(term=text[1:]) if text.startswith("-") else text
        for text in sub.keywords
    ]
    # 50 terms of 100 characters are more than one message: blocks of 25 lines.
    blocks = ["\n".join(lines[i : i + 25]) for i in range(0, len(lines), 25)]
    blocks[0] = _("Keywords ({count}):").format(count=len(lines)) + "\n" + blocks[0]
    return [*blocks, usage()]


async def cmd_keywords(
    message: Message, command: CommandObject, subs: Subscriptions, place: Place, where: str
) -> None:
    """/keywords lists; `/keywords add …`, `remove …` and `clear` change, then list."""
    if command.args and command.args.strip():
        sub = await subs.change_keywords(place, command.args)
    else:
        sub = await subs.require(place)
    for part in pack(
        [named(block, where) if not n else block for n, block in enumerate(listing(sub))]
    ):
        await message.answer(part, link_preview_options=NO_PREVIEW)
