"""Topic taxonomy: loading, validation, names, and matching across spellings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feeds.models import Lang
from feeds.topics import Taxonomy, TaxonomyError, classify

DEV = Path(__file__).resolve().parents[2] / "data" / "labelled" / "dev.jsonl"
BUILTIN = ("politics", "unions", "education", "health", "economy", "social", "youth", "culture")


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.load()


def _load(tmp_path: Path, text: str) -> Taxonomy:
    """A taxonomy from a topics file an admin wrote."""
    path = tmp_path / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return Taxonomy.load(path)


def test_packaged_taxonomy_has_the_built_in_slugs_in_order(taxonomy: Taxonomy) -> None:
    assert taxonomy.slugs == BUILTIN


@pytest.mark.parametrize(
    ("slug", "locale", "name"),
    [
        ("politics", "kk", "Саясат"),
        ("unions", "kk", "Кәсіподақтар"),
        ("education", "kk-KZ", "Білім"),
        ("health", "kk", "Денсаулық"),
        ("social", "kk", "Әлеуметтік сала"),
        ("youth", "kk", "Жастар"),
        ("culture", "kk", "Мәдениет"),
        ("unions", "ru", "Профсоюзы"),
        ("unions", "en", "Trade unions"),
        ("unions", "de", "Профсоюзы"),  # unknown locale falls back to Russian
    ],
)
def test_topic_names_are_localised(taxonomy: Taxonomy, slug: str, locale: str, name: str) -> None:
    assert taxonomy.name(slug, locale) == name


def test_unknown_slug_and_missing_names_fall_back_to_the_slug(tmp_path: Path) -> None:
    custom = _load(
        tmp_path, '[[topic]]\nslug = "ecology"\nname = { en = "Ecology" }\nru = ["эколог"]\n'
    )
    assert custom.name("ecology", "kk") == "ecology"
    assert custom.name("ecology", "en") == "Ecology"
    assert custom.name("missing", "ru") == "missing"


@pytest.mark.parametrize(
    ("text", "lang", "slug"),
    [
        ("Профсоюзы требуют повысить зарплату", Lang.RU, "unions"),
        ("Глава федерации профсоюзов ушёл в отставку", Lang.RU, "unions"),
        ("Кәсіподақтары жалақыны көтеруді талап етті", Lang.KK, "unions"),
        ("Кэсиподак жумысшылардын кукыгын коргайды", Lang.KK, "unions"),
        ("Kásipodaqtar federatsııasy jıyn ótkizdi", Lang.KK, "unions"),
        ("Шахтёры объявили забастовку", Lang.RU, "unions"),
        ("Мәжіліс сайлауға дайындық туралы", Lang.KK, "politics"),
        ("Prezıdent saılaýǵa qatysty jarlyqqa qol qoıdy", Lang.KK, "politics"),
        ("قازاقستان پرەزيدەنتى جولداۋ جاسادى", Lang.KK, "politics"),
        ("Мектеп оқушылары ҰБТ тапсырды", Lang.KK, "education"),
        ("Выпускники сдали ЕНТ", Lang.RU, "education"),
        ("مەكتەپ وقۋشىلارىنا تەگىن تاماق بەرىلەدى", Lang.KK, "education"),
        ("Дәрігерлер қызылшаға қарсы екпе салуды ұсынады", Lang.KK, "health"),
        ("Врачи призвали привиться от кори", Lang.RU, "health"),
        ("Цены на бензин выросли", Lang.RU, "economy"),
        ("Kazakhstan raises oil output", Lang.EN, "economy"),
        ("Зейнетақылар мен жәрдемақылар өседі", Lang.KK, "social"),
        ("Многодетным семьям повысят пособия", Lang.RU, "social"),
        ("Жастар саясаты туралы жаңа заң", Lang.KK, "youth"),
        ("Волонтёры помогли пожилым людям", Lang.RU, "youth"),
        ("Театрда жаңа спектакльдің премьерасы өтті", Lang.KK, "culture"),
        ("Astana hosts international theatre festival", Lang.EN, "culture"),
        ("Xалық қалаулылары жaңа заңды қабылдады", Lang.KK, "politics"),  # Latin X, a
        ("Кәсіподағы жалақыны көтеруді талап етті", Lang.KK, "unions"),  # қ > ғ before a vowel
        ("Ауылдағы мектебіне жаңа жабдық әкелінді", Lang.KK, "education"),  # п > б
        ("Áleýmettik kómek kórsetildi", Lang.KK, "social"),  # Latin word starting with á
        ("Mədeny múra kórmesi ashyldy", Lang.KK, "culture"),  # the ə-alphabet of abai.kz/lt
        ("Шахтёры погибли на шахте: рабочий погиб при обвале", Lang.RU, "unions"),
        ("Өндірісте жазатайым оқиға: жұмысшы қаза тапты", Lang.KK, "unions"),
        ("Курьеры требуют признать платформенную занятость трудовой", Lang.RU, "unions"),
        ("«Жасыл ел» жасағы жазғы маусымды бастады", Lang.KK, "youth"),
        ("Нацбанк сохранил базовую ставку", Lang.RU, "economy"),
        ("Мұнай өндіру көлемі артты", Lang.KK, "economy"),
    ],
)
def test_stems_match_inflected_and_respelled_words(
    taxonomy: Taxonomy, text: str, lang: Lang, slug: str
) -> None:
    assert slug in taxonomy.match(text, lang)


def test_russian_item_quoting_a_kazakh_term_gets_its_topic(taxonomy: Taxonomy) -> None:
    assert "unions" in taxonomy.match("«Кәсіподақтар федерациясы» провела съезд", Lang.RU)


def test_item_can_have_several_topics(taxonomy: Taxonomy) -> None:
    topics = taxonomy.match("Учителя вышли на забастовку из-за задержки зарплаты", Lang.RU)
    assert {"education", "unions"} <= topics


@pytest.mark.parametrize(
    "text",
    [
        "Погода: в Астане ожидается снег",
        "Поэтому водителям советуют быть осторожнее",  # "поэт" is not poetry
        "Сенбіде жаңбыр жауады",
    ],
)
def test_item_about_nothing_we_track_has_no_topics(taxonomy: Taxonomy, text: str) -> None:
    assert taxonomy.match(text, Lang.RU) == frozenset()


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Ұлттық қоры туралы есеп жарияланды", "health"),  # қоры (fund) is not кори (measles)
        ("Магистраль закрыли на ремонт", "education"),  # not a магистрант
        ("Бүгін анықталған жайттар туралы", "culture"),  # анық- is not әні (song)
        ("Trade unions meet in Astana", "economy"),  # "trade union" is not trade
        ("Еңбек және халықты әлеуметтік қорғау министрлігі хабарлады", "social"),  # a ministry
        ("European Union leaders meet in Brussels", "unions"),
        ("Назарбаев Университет открыл набор", "politics"),
        ("Премьер-лига: «Кайрат» обыграл «Тобол»", "politics"),  # not a premier
        ("Вакцинация проводится на добровольной основе. Екпе ерікті түрде салынады", "youth"),
    ],
)
def test_excluded_false_friends_do_not_tag(taxonomy: Taxonomy, text: str, slug: str) -> None:
    assert slug not in taxonomy.match(text, Lang.OTHER)


def test_source_zakon_kz_read_as_kazakh_latin_is_not_a_law(taxonomy: Taxonomy) -> None:
    assert "politics" not in taxonomy.match("Zakon.kz тілшісі хабарлайды", Lang.KK)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Ақынның жаңа кітабы жарық көрді", "culture"),  # кітап > кітабы
        ("Бірінші сабағы өтті", "education"),  # сабақ > сабағы
        ("Kitaby jaryq kórdi", "culture"),  # the same in the Latin alphabet
    ],
)
def test_kazakh_stem_matches_with_its_final_consonant_voiced(
    taxonomy: Taxonomy, text: str, slug: str
) -> None:
    assert slug in taxonomy.match(text, Lang.KK)


def test_custom_kazakh_pattern_is_voiced_and_russian_one_is_not(tmp_path: Path) -> None:
    custom = _load(tmp_path, '[[topic]]\nslug = "sport"\nkk = ["күрек"]\nru = ["рюкзак"]\n')
    assert custom.match("Күрегі сынды", Lang.KK) == {"sport"}
    assert custom.match("Рюкзагом не пользуйтесь", Lang.RU) == frozenset()


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        # docs/TOPICS.md: social is pensions, benefits, housing, large families; pay is not.
        ("Бюджет қызметкерлерінің жалақысы көтеріледі", {"economy"}),
        ("Елімізде 591 мың азаматтың жалақысы 20 пайызға өседі", {"economy"}),
        ("Бюджетникам повысят зарплату", {"economy"}),
        ("Дәрігерлердің жалақысы өседі", {"health"}),
        ("Учителям повысят зарплату", {"education"}),
        ("Жұмысшылар жалақыны көтеруді талап етті", {"unions"}),
    ],
)
def test_pay_rise_for_a_sector_is_economy_unless_a_sector_or_dispute_claims_it(
    taxonomy: Taxonomy, text: str, topics: set[str]
) -> None:
    assert taxonomy.match(text, Lang.OTHER) == topics


@pytest.mark.parametrize(
    "text",
    [
        "Более 4 тысяч казахстанцев лишились работы из-за оптимизации штата",
        "Биыл 3 мыңға жуық адам жұмыстан қысқарды",
        "Сотрудники рудника не получают зарплату",
        "Коллектив депо потребовал повысить зарплату на 100%",
    ],
)
def test_layoffs_and_wage_disputes_without_the_word_union_are_labour_news(
    taxonomy: Taxonomy, text: str
) -> None:
    assert taxonomy.match(text, Lang.OTHER) == {"unions"}


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("В очереди на жилье стоят 23 тысячи человек", "social"),
        ("Балаларға арналған оңалту орталығы ашылды", "social"),
        ("Депутаты Мажилиса одобрили в первом чтении поправки", "politics"),
        ("Облыс басшысы тұрғындарды қабылдады", "politics"),
        ("В области растёт заболеваемость пневмонией", "health"),
    ],
)
def test_newsroom_phrases_file_their_topic(taxonomy: Taxonomy, text: str, slug: str) -> None:
    assert taxonomy.match(text, Lang.OTHER) == {slug}


def test_weak_words_do_not_add_a_topic_to_an_item_whose_title_names_another(
    taxonomy: Taxonomy,
) -> None:
    # The budget law's passage through parliament is context for a pensions item.
    lead = "Сенатқа Мәжіліс қабылдаған бюджет туралы заң жобасы түсті."
    title = "Келер жылдан бастап зейнетақы мөлшері өседі"
    assert taxonomy.match(title, Lang.KK, lead=lead) == {"social"}
    # A ministry named in the title is weak: a Senate in the lead does not make it politics.
    title = "Денсаулық сақтау министрлігі медицина қызметкерлерінің жалақысын көтереді"
    lead = "Вице-министр Сенат кулуарында сөйледі."
    assert taxonomy.match(title, Lang.KK, lead=lead) == {"health"}


def test_passing_mention_in_the_lead_does_not_tag_but_the_title_does(taxonomy: Taxonomy) -> None:
    lead = "Об этом сообщили в акимате города."
    assert "politics" not in taxonomy.match("Открылся новый каток", Lang.RU, lead=lead)
    assert "politics" in taxonomy.match("Аким открыл новый каток", Lang.RU)


def test_weak_words_file_an_item_only_when_nothing_else_does(taxonomy: Taxonomy) -> None:
    assert taxonomy.match("Аким открыл новую школу", Lang.RU) == {"education"}
    assert taxonomy.match("Аким встретился с жителями", Lang.RU) == {"politics"}
    strike = "Нефтяники вышли на забастовку на месторождении"
    assert taxonomy.match(strike, Lang.RU) == {"unions"}
    assert taxonomy.match("Добыча нефти на месторождении выросла", Lang.RU) == {"economy"}


def test_government_raising_pensions_is_social_not_politics(taxonomy: Taxonomy) -> None:
    lead = "Соответствующее постановление подписал премьер-министр."
    topics = taxonomy.match("Правительство повысит пенсии и пособия", Lang.RU, lead=lead)
    assert topics == {"social"}


def test_passing_a_law_is_politics_whatever_it_is_about(taxonomy: Taxonomy) -> None:
    topics = taxonomy.match("Токаев подписал закон о новых пособиях", Lang.RU)
    assert topics == {"politics", "social"}


def test_lead_needs_three_words_when_the_title_names_another_topic(taxonomy: Taxonomy) -> None:
    title = "Профсоюз провёл собрание"
    two = "Собрались учителя одной школы."
    three = "Собрались учителя одной школы, обсуждали учебники."
    assert taxonomy.match(title, Lang.RU, lead=two) == {"unions"}
    assert taxonomy.match(title, Lang.RU, lead=three) == {"unions", "education"}
    assert taxonomy.match("Собрание прошло", Lang.RU, lead=two) == {"education"}


def test_words_of_one_phrase_count_once_in_the_lead(taxonomy: Taxonomy) -> None:
    # "Национальный банк" and "банк" overlap: one mention, not two different words.
    lead = "Об этом сообщил Национальный банк."
    assert "economy" not in taxonomy.match("Открылся новый каток", Lang.RU, lead=lead)


def test_both_halves_of_a_two_part_pattern_count_as_two_lead_words(taxonomy: Taxonomy) -> None:
    # "долг & зарплат" is one pattern but two different words: enough for the lead alone.
    assert taxonomy.match("Собрание прошло", Lang.RU, lead="Долги по зарплате не погашены.") == {
        "unions"
    }


def test_first_line_of_text_is_the_title(taxonomy: Taxonomy) -> None:
    title, lead = "Открылся новый каток", "Об этом сообщили в акимате города."
    assert taxonomy.match(f"{title}\n{lead}", Lang.RU) == taxonomy.match(title, Lang.RU, lead=lead)


def test_classify_returns_language_and_topics() -> None:
    lang, topics = classify("Кәсіподақ жалақыны көтеруді талап етті", "", hint="ru")
    assert lang is Lang.KK
    assert "unions" in topics


def test_explain_names_the_patterns_that_matched(taxonomy: Taxonomy) -> None:
    assert "профсоюз" in taxonomy.explain("Профсоюзы против", Lang.RU)["unions"]


def test_custom_file_extends_the_built_in_taxonomy(tmp_path: Path) -> None:
    custom = _load(
        tmp_path,
        'extends = "builtin"\n'
        "[[topic]]\n"
        'slug = "ecology"\n'
        'name = { ru = "Экология", kk = "Экология", en = "Ecology" }\n'
        'ru = ["эколог", "выброс"]\n'
        'kk = ["экология", "қоршаған орта"]\n'
        "[[topic]]\n"
        'slug = "culture"\n'
        'ru = ["айтыскер"]\n',
    )
    assert custom.slugs == (*BUILTIN, "ecology")
    assert custom.match("Выбросы ТЭЦ превысили норму", Lang.RU) == {"ecology"}
    assert "ecology" in custom.match("Қоршаған ортаны қорғау шаралары", Lang.KK)
    assert "culture" in custom.match("Айтыскеры собрались в Таразе", Lang.RU)
    assert "culture" in custom.match("Театр открыл сезон", Lang.RU)  # built-in kept
    assert custom.name("culture", "kk") == "Мәдениет"


def test_custom_file_can_add_weak_words(tmp_path: Path) -> None:
    custom = _load(tmp_path, 'extends = "builtin"\n[[topic]]\nslug = "politics"\nweak = ["мэр"]\n')
    assert custom.match("Мэр открыл каток", Lang.RU) == {"politics"}
    assert custom.match("Мэр открыл новую школу", Lang.RU) == {"education"}


def test_file_without_extends_replaces_the_built_in_taxonomy(tmp_path: Path) -> None:
    custom = _load(
        tmp_path, '[[topic]]\nslug = "sport"\nname = { ru = "Спорт" }\nru = ["футбол"]\n'
    )
    assert custom.slugs == ("sport",)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[[topic]\nslug = 'x'", "not valid TOML"),
        ("title = 'x'\n", "unknown top-level keys"),
        ("extends = 'builtin'\n", "no [[topic]] tables"),
        ("[[topic]]\nslug = 'Bad Slug'\n", "slug must match"),
        ("[[topic]]\nname = { ru = 'x' }\n", "slug must match"),
        ("[[topic]]\nslug = 'a'\n[[topic]]\nslug = 'a'\n", "duplicate slug 'a'"),
        ("[[topic]]\nslug = 'a'\npaterns = ['x']\n", "unknown keys ['paterns']"),
        ("[[topic]]\nslug = 'a'\nru = 'профсоюз'\n", "ru must be a list"),
        ("[[topic]]\nslug = 'a'\nru = ['профсоюз', '']\n", "ru must be a list"),
        ("[[topic]]\nslug = 'a'\nweak = 'аким'\n", "weak must be a list"),
        ("[[topic]]\nslug = 'a'\nru = ['профсоюз & ']\n", "empty stem"),
        ("[[topic]]\nslug = 'a'\nname = { ru = 5 }\n", "name must be a table"),
        ("extends = 'other'\n[[topic]]\nslug = 'a'\n", 'extends must be "builtin"'),
    ],
)
def test_malformed_file_error_names_the_file_and_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        Taxonomy.load(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_missing_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(TaxonomyError, match=r"absent\.toml"):
        Taxonomy.load(path)


def test_dev_set_topic_micro_f1_meets_target(taxonomy: Taxonomy) -> None:
    items = [json.loads(line) for line in DEV.read_text("utf-8").splitlines() if line.strip()]
    tp = fp = fn = 0
    for item in items:
        _, got = classify(item["title"], item["summary"], taxonomy=taxonomy)
        want = set(item["topics"])
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    assert 2 * tp / (2 * tp + fp + fn) >= 0.93


def test_phrase_pattern_needs_all_its_words_in_a_row(tmp_path: Path) -> None:
    custom = _load(tmp_path, '[[topic]]\nslug = "sport"\nru = ["кубок =мира по футбол"]\n')
    assert custom.match("Кубок мира по футболу стартует", Lang.RU) == {"sport"}
    assert custom.match("Кубок мирового футбола стартует", Lang.RU) == frozenset()
    assert custom.match("Стартует кубок мира по", Lang.RU) == frozenset()
    assert custom.match("Кубок мира прошёл по футболу", Lang.RU) == frozenset()


def test_same_text_matched_again_gets_the_same_topics(taxonomy: Taxonomy) -> None:
    text = "Мұғалімдердің жалақысы өседі\nМектеп мұғалімдері мен тәрбиешілер"
    first = taxonomy.explain(text, Lang.KK)
    first["education"].append("changed by a caller")
    assert taxonomy.explain(text, Lang.KK) == {"education": first["education"][:-1]}
