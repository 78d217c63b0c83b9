"""A group's subscription is its administrators' to change; anyone may read it."""

from __future__ import annotations

from bot.services.places import Place
from tests.e2e.conftest import ADMIN, Habar
from tests.e2e.places import REFUSAL_EN, Member
from tests.support.fake_telegram import FakeTelegram

GROUP = -1001234567890
OWNER, MEMBER = 3003, 3004


def people(fake: FakeTelegram) -> tuple[Member, Member, Member]:
    """The group's creator, an ordinary member and an anonymous administrator."""
    fake.set_member(GROUP, OWNER, "creator")
    fake.set_member(GROUP, MEMBER, "member")
    return (
        Member(fake, GROUP, OWNER),
        Member(fake, GROUP, MEMBER),
        Member(fake, GROUP, 0, anonymous=True),
    )


async def test_a_member_is_refused_and_changes_nothing_while_the_owner_subscribes(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    owner, member, _anon = people(fake_tg)
    subs = habar.app.res.subs

    assert (await member.ask("/start")).text == REFUSAL_EN
    assert await subs.get(Place(GROUP)) is None

    welcome = await owner.ask("/start")
    assert "digests" in welcome.text
    sub = await subs.get(Place(GROUP))
    assert sub is not None and sub.kind == "supergroup" and sub.title == f"Group {GROUP}"

    for command in ("/lang kk", "/topics unions", "/schedule instant", "/stop", "/digest"):
        assert (await member.ask(command)).text == REFUSAL_EN, command
    assert await subs.get(Place(GROUP)) == sub


async def test_anyone_reads_settings_but_only_an_admin_may_tap_them(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    owner, member, _anon = people(fake_tg)
    await owner.ask("/start")

    settings = await member.ask("/settings")
    assert "Languages" in settings.text or "Языки" in settings.text
    tap = await member.tap(settings, "ui:kk")
    assert tap.show_alert and tap.text == REFUSAL_EN
    sub = await habar.app.res.subs.get(Place(GROUP))
    assert sub is not None and sub.ui_lang != "kk"

    tap = await owner.tap(settings, "ui:en")
    assert not tap.show_alert
    assert (await habar.app.res.subs.get(Place(GROUP))).ui_lang == "en"


async def test_an_anonymous_admin_writing_as_the_group_may_change_it(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    owner, _member, anon = people(fake_tg)
    await owner.ask("/start")

    reply = await anon.ask("/lang kk")
    assert reply.text != REFUSAL_EN
    sub = await habar.app.res.subs.get(Place(GROUP))
    assert sub is not None and sub.langs == frozenset({"kk"})


async def test_the_bots_admins_may_change_any_group(habar: Habar, fake_tg: FakeTelegram) -> None:
    people(fake_tg)
    boss = Member(fake_tg, GROUP, ADMIN)
    await boss.ask("/start")
    assert (await habar.app.res.subs.get(Place(GROUP))) is not None


async def test_commands_for_another_bot_are_ignored_and_ours_by_name_work(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    owner, _member, _anon = people(fake_tg)
    await owner.silent(habar, "/start@other_bot")
    assert await habar.app.res.subs.get(Place(GROUP)) is None

    await owner.ask("/start@habar_test_bot")
    assert await habar.app.res.subs.get(Place(GROUP)) is not None


async def test_a_member_promoted_later_is_refused_until_the_answer_expires(
    habar: Habar, fake_tg: FakeTelegram
) -> None:
    owner, member, _anon = people(fake_tg)
    await owner.ask("/start")
    assert (await member.ask("/stop")).text == REFUSAL_EN
    fake_tg.set_member(GROUP, MEMBER, "administrator")
    habar.app.res.places.rights.forget(GROUP, MEMBER)  # as 5 minutes later
    assert (await member.ask("/stop")).text != REFUSAL_EN
    assert (await habar.app.res.subs.get(Place(GROUP))).status == "paused"
