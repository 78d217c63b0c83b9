"""What /lang, /topics and /schedule accept, and what their refusals name."""

from __future__ import annotations

import pytest

from bot.services.errors import InputError
from bot.services.schedule import MAX_TIMES, parse_schedule
from bot.services.subscriptions import LANGS, parse_choice, toggle


def test_language_aliases_people_type_are_understood() -> None:
    assert parse_choice("kz, рус", LANGS, "bad_lang") == frozenset({"kk", "ru"})
    assert parse_choice("қаз eng", LANGS, "bad_lang") == frozenset({"kk", "en"})


def test_every_unknown_word_is_named_and_the_valid_ones_listed() -> None:
    with pytest.raises(InputError) as caught:
        parse_choice("xx ru yy", LANGS, "bad_lang")
    assert caught.value.key == "bad_lang"
    assert caught.value.params == {"bad": "xx yy", "valid": "ru kk en all"}


def test_choosing_every_language_means_all_languages_including_other() -> None:
    assert parse_choice("ru kk en", LANGS, "bad_lang") is None


def test_tapping_the_last_missing_language_back_means_all_languages() -> None:
    assert toggle(frozenset({"ru", "kk"}), "en", LANGS) is None
    assert toggle(None, "en", LANGS) == frozenset({"ru", "kk"})


def test_an_out_of_date_button_is_refused_as_such() -> None:
    with pytest.raises(InputError) as caught:
        toggle(None, "de", LANGS)
    assert caught.value.key == "bad_button"


def test_a_kind_that_takes_no_times_refuses_them() -> None:
    with pytest.raises(InputError) as caught:
        parse_schedule("hourly 09:00")
    assert caught.value.key == "bad_schedule"


def test_at_most_max_times_a_day_and_the_refusal_says_how_many() -> None:
    times = [f"{h:02d}:00" for h in range(MAX_TIMES + 1)]
    assert parse_schedule("daily " + " ".join(times[:MAX_TIMES])) == ("daily", tuple(times[:-1]))
    with pytest.raises(InputError) as caught:
        parse_schedule("daily " + " ".join(times))
    assert (caught.value.key, caught.value.params) == ("too_many_times", {"limit": "6"})
