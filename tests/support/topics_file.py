"""A topics file as an admin writes it: the built-in taxonomy plus a "sport" topic."""

from __future__ import annotations

from pathlib import Path

SPORT = (
    'extends = "builtin"\n\n[[topic]]\nslug = "sport"\n'
    'name = { ru = "Спорт", kk = "Спорт", en = "Sport" }\n'
    'ru = ["футбол"]\nkk = ["футбол"]\nen = ["football"]\n'
)


def write_sport_topics(folder: Path) -> Path:
    """Write the file into `folder` (UTF-8, as an editor saves it) and return its path."""
    path = folder / "topics.toml"
    path.write_text(SPORT, encoding="utf-8")
    return path
