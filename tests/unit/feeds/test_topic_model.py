"""The learned topic model: training command, reproducible bytes, explain, failures at start."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import classify, main
from feeds.models import Lang
from feeds.pipeline import classify_text
from feeds.topic_model import TopicModel, TopicModelError
from feeds.topics import MAX_TOPICS, Classifier, Taxonomy
from tests.support.topics_file import write_sport_topics

ROOT = Path(__file__).resolve().parents[3]
SMALL = ROOT / "tests" / "data" / "topic_model" / "small.jsonl"
SLUGS = ("politics", "unions", "education", "health", "economy", "social", "youth", "culture")


def _train(tmp_path: Path, name: str, *extra: str) -> tuple[Path, str]:
    pytest.importorskip("sklearn")
    out = tmp_path / name
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdout", stdout)
        code = main(["topics", "train", str(SMALL), "-o", str(out), *extra])
    assert code == 0
    return out, stdout.getvalue()


def test_training_command_writes_a_model_that_files_items(tmp_path: Path) -> None:
    path, report = _train(tmp_path, "model.json.gz")
    model = TopicModel.load(path)
    assert model.topics == SLUGS
    assert "thresholds" in report
    assert f"-> {path}" in report
    classifier = Classifier(Taxonomy.load(), model)
    _, topics = classifier.classify("Профсоюз потребовал поднять зарплату шахтерам", "")
    assert "unions" in topics


def test_training_twice_gives_identical_model_bytes(tmp_path: Path) -> None:
    first, _ = _train(tmp_path, "a.json.gz", "--dev", str(SMALL))
    second, _ = _train(tmp_path, "b.json.gz", "--dev", str(SMALL))
    assert first.read_bytes() == second.read_bytes()
    raw = gzip.decompress(first.read_bytes())
    assert json.loads(raw)["format"] == "habar-topic-model/1"
    assert first.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0: no timestamp in the bytes


@pytest.mark.timeout(900)
def test_the_shipped_model_is_what_training_rebuilds_it_from(tmp_path: Path) -> None:
    """README names the command that rebuilt feeds/data/topic_model.json.gz; it still does."""
    pytest.importorskip("sklearn")
    readme = (ROOT / "README.md").read_text("utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("python -m bot topics train"))
    args = line.split()[3:]
    out = tmp_path / "rebuilt.json.gz"
    args[args.index("-o") + 1] = str(out)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setattr(sys, "stdout", io.StringIO())
        assert main(args) == 0
    assert out.read_bytes() == (ROOT / "feeds" / "data" / "topic_model.json.gz").read_bytes()


def test_eval_prints_per_topic_figures_and_micro_f1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topics", "eval", str(SMALL), "--rules-only"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rules only, 46 items")
    rows = [line.split() for line in out.splitlines()]
    for slug in SLUGS:
        assert any(row[:1] == [slug] and len(row) == 7 for row in rows)
    micro = next(line for line in out.splitlines() if line.startswith("micro"))
    precision, recall, f1 = map(float, micro.split()[1:4])
    assert 0 < f1 <= 1 and 0 < precision <= 1 and 0 < recall <= 1


def test_eval_of_a_missing_model_fails_with_the_file_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topics", "eval", str(SMALL), "--model", str(tmp_path / "nope.gz")]) == 1
    assert "nope.gz" in capsys.readouterr().err


def test_training_without_scikit_learn_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.linear_model", None)
    out = tmp_path / "m.json.gz"
    assert main(["topics", "train", str(SMALL), "-o", str(out)]) == 1
    assert "pip install -e '.[train]'" in capsys.readouterr().err
    assert not out.exists()


def test_explain_shows_the_rules_that_matched_and_every_model_score() -> None:
    line = {"title": "Кәсіподақ мүшелері жалақыны көтеруді талап етті", "id": 3}
    out = io.StringIO()
    assert classify(io.StringIO(json.dumps(line) + "\n"), out, explain=True) == 0
    got = json.loads(out.getvalue())
    assert got["id"] == 3 and got["lang"] == "kk"
    assert "unions" in got["topics"]
    assert "кәсіподақ" in got["explain"]["rules"]["unions"]
    assert got["explain"]["sure"] == ["unions"]
    model = got["explain"]["model"]
    assert set(model) == set(SLUGS)
    assert all(set(v) == {"score", "threshold"} for v in model.values())
    assert model["unions"]["score"] > model["culture"]["score"]


def test_explain_agrees_with_plain_classify() -> None:
    lines = [
        {"title": "Минздрав призвал казахстанцев пройти вакцинацию от кори"},
        {"title": "В школах Алматы не хватает учителей", "summary": "Набор педагогов."},
        {"title": "Открылся новый каток"},
    ]
    text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
    plain, explained = io.StringIO(), io.StringIO()
    classify(io.StringIO(text), plain)
    classify(io.StringIO(text), explained, explain=True)
    for a, b in zip(plain.getvalue().splitlines(), explained.getvalue().splitlines(), strict=True):
        assert json.loads(a)["topics"] == json.loads(b)["topics"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not gzip at all", "not a gzip'd JSON model"),
        (gzip.compress(b"{not json"), "not a gzip'd JSON model"),
        (gzip.compress(b'{"format": "other"}'), "malformed"),
        (
            gzip.compress(
                json.dumps(
                    {
                        "format": "habar-topic-model/1",
                        "topics": ["unions"],
                        "bias": {"unions": 0},
                        "thresholds": {"unions": 0},
                        "weights": {"unions": {"w:x": "heavy"}},
                    }
                ).encode()
            ),
            "malformed",
        ),
    ],
)
def test_corrupt_model_error_names_the_file_and_the_problem(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "model.json.gz"
    path.write_bytes(content)
    with pytest.raises(TopicModelError) as caught:
        TopicModel.load(path)
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


@pytest.mark.parametrize("broken", ["missing", "corrupt"])
@pytest.mark.parametrize("args", [["poll", "--once"], ["feed", "add", "x"], ["run"]])
def test_bad_model_stops_the_command_at_start_with_one_line(
    tmp_path: Path, broken: str, args: list[str]
) -> None:
    path = tmp_path / "model.json.gz"
    if broken == "corrupt":
        path.write_bytes(b"\x1f\x8b garbage")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'habar.db'}",
        "TOPIC_MODEL_FILE": str(path),
    }
    if args == ["run"]:
        env["BOT_TOKEN"] = "123456789:AAE" + "x" * 32
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        input="",
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: TOPIC_MODEL_FILE: topic model ")
    assert str(path) in line
    assert not (tmp_path / "habar.db").exists()  # stopped before touching the database


def test_classify_with_a_broken_packaged_model_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from feeds import pipeline

    def broken(*paths: str | None) -> Classifier:
        raise TopicModelError("topic model feeds/data/topic_model.json.gz: cannot read: gone")

    monkeypatch.setattr(pipeline, "classifier_at", broken)
    assert classify(io.StringIO('{"title": "x"}\n'), io.StringIO()) == 2
    assert "topic_model.json.gz" in capsys.readouterr().err


def test_admin_topics_from_a_topics_file_still_match(tmp_path: Path) -> None:
    path = write_sport_topics(tmp_path)
    lang, topics = classify_text("Футбол: Кайрат обыграл Астану", "", taxonomy_path=str(path))
    assert lang is Lang.RU
    assert "sport" in topics
    # The built-in topics keep their model beside the admin's rules.
    _, topics = classify_text(
        "Профсоюз футболистов объявил забастовку", "", taxonomy_path=str(path)
    )
    assert {"sport", "unions"} <= topics


def test_sure_patterns_decide_even_against_the_model() -> None:
    zero = {slug: {} for slug in SLUGS}
    never = TopicModel(SLUGS, (-100.0,) * 8, (0.0,) * 8, tuple(zero.values()))
    classifier = Classifier(Taxonomy.load(), never)
    assert classifier.classify("Профсоюз горняков провёл собрание", "")[1] == {"unions"}
    assert classifier.classify("ҰБТ-2026: нәтижелер жарияланды", "")[1] == {"education"}
    # An ordinary pattern is evidence only: a model that never agrees files nothing.
    assert classifier.classify("Парламент принял закон", "")[1] == frozenset()


def test_an_item_gets_at_most_two_topics() -> None:
    always = TopicModel(SLUGS, (100.0,) * 8, (0.0,) * 8, tuple({} for _ in SLUGS))
    classifier = Classifier(Taxonomy.load(), always)
    _, topics = classifier.classify("Новости", "")
    assert len(topics) == MAX_TOPICS


def test_rules_only_is_the_rules_alone() -> None:
    taxonomy = Taxonomy.load()
    title = "Мектеп оқушылары ҰБТ тапсырды"
    assert Classifier(taxonomy, None).classify(title, "")[1] == taxonomy.match(title, Lang.KK)
