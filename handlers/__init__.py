"""aiogram routers: the Telegram edge of Habar (parse, one service call, reply)."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, errors, filters, opml, places, preferences, sources, subscriber


def get_routers(*, admin_ids: frozenset[int]) -> list[Router]:
    """Fresh routers in dispatch order: errors, admin (filtered), refusal, then everyone's."""
    return [
        errors.make_router(),
        opml.make_router(admin_ids),
        *admin.make_routers(admin_ids),
        filters.make_refusal_router(admin_ids),
        places.make_router(),
        subscriber.make_router(),
        preferences.make_router(),
        sources.make_router(),
    ]
