"""/import and /export for ADMIN_IDS: the feed list as an OPML file (others get the refusal)."""

from __future__ import annotations

import io

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Document, Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from bot.services.feed_admin import FeedAdmin
from bot.services.opml import (
    MAX_BYTES,
    Failure,
    ImportReport,
    OpmlError,
    export_feeds,
    import_outlines,
)
from bot.services.opml import read_opml as read_file
from handlers.errors import feed_reason
from handlers.texts import NO_PREVIEW, cut, pack

LISTED = 20  # lines shown per list of the summary; the rest are counted
LINE_MAX = 200
EXTENSIONS = (".opml", ".xml")
OPML_REASONS = {
    "too_large": N_("The file is larger than 1 MiB."),
    "xml_tricks": N_(
        "The file declares XML entities or external references, which are not accepted."
    ),
    "truncated": N_("The file is cut off: its XML ends too early."),
    "not_xml": N_("The file is not XML."),
    "not_opml": N_("The file is not OPML."),
    "too_many": N_("The file has more than 2,000 outlines."),
    "no_feeds": N_("The file lists no feeds: no outline has an xmlUrl."),
}


def _document(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


async def _refuse(message: Message, reason: str) -> None:
    nothing = _("Nothing was added.")
    await message.answer(f"❌ {_(OPML_REASONS[reason])}\n{nothing}")


async def cmd_import(message: Message, bot: Bot, feed_admin: FeedAdmin) -> None:
    """/import as the caption of an OPML file, or in reply to one: add every feed it lists."""
    doc = _document(message)
    if doc is None or not (doc.file_name or "").lower().endswith(EXTENSIONS):
        await message.answer(
            _("Send an .opml or .xml file with the caption /import, or reply /import to it.")
        )
        return
    if (doc.file_size or 0) > MAX_BYTES:  # Telegram says the size: no need to download it
        await _refuse(message, "too_large")
        return
    buffer = io.BytesIO()
    await bot.download(doc, destination=buffer)
    try:
        outlines = read_file(buffer.getvalue())
    except OpmlError as exc:
        await _refuse(message, exc.reason)
        return
    checking = _("Checking {count} feed…", "Checking {count} feeds…", len(outlines))
    await message.answer(checking.format(count=len(outlines)))
    report = await import_outlines(feed_admin, outlines)
    for part in pack(summary(report)):
        await message.answer(part, link_preview_options=NO_PREVIEW)


def summary(report: ImportReport) -> list[str]:
    """The import's outcome: counts, then added, already present and failed feeds."""
    head = _("Import done: {added} added, {present} already present, {failed} failed.").format(
        added=len(report.added), present=len(report.present), failed=len(report.failed)
    )
    added = [cut(f"#{a.feed.id} {a.feed.title or a.feed.url}", LINE_MAX) for a in report.added]
    present = [cut(url, LINE_MAX) for url in report.present]
    failed = [cut(_failure(f), LINE_MAX) for f in report.failed]
    blocks = [head]
    for title, lines in (
        (_("Added:"), added),
        (_("Already present:"), present),
        (_("Failed:"), failed),
    ):
        if lines:
            blocks.append("\n".join([title, *_listed(lines)]))
    return blocks


def _failure(failure: Failure) -> str:
    detail = f" ({failure.detail})" if failure.detail else ""
    return f"{failure.url} — {feed_reason(failure.reason)}{detail}"


def _listed(lines: list[str]) -> list[str]:
    if len(lines) <= LISTED:
        return lines
    more = len(lines) - LISTED
    return [*lines[:LISTED], _("…and {count} more").format(count=more)]


async def cmd_export(message: Message, feed_admin: FeedAdmin) -> None:
    """/export: every feed as feeds.opml (OPML 2.0)."""
    data, count = await export_feeds(feed_admin)
    caption = _("{count} feed", "{count} feeds", count).format(count=count)
    await message.answer_document(BufferedInputFile(data, "feeds.opml"), caption=caption)


def make_router(admin_ids: frozenset[int]) -> Router:
    """The OPML commands, for admins only: it goes before the admin refusal router."""
    router = Router(name=__name__)
    router.message.filter(F.from_user.id.in_(admin_ids))
    router.message.register(cmd_import, Command("import"))
    router.message.register(cmd_export, Command("export"))
    return router
