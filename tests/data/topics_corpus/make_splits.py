"""Build the labelled topics corpus from the two labelling passes and the adjudication, once.

    python tests/data/topics_corpus/make_splits.py PASSES_DIR

PASSES_DIR holds A.*.labels.jsonl and B.*.labels.jsonl (one pass each over every item, made
independently) and adjudicated.*.jsonl (a third reader's decision where the passes differ).
Writes labels.jsonl (every item's two passes, the adjudication and the final topics) and the
splits train.jsonl / dev.jsonl / test.jsonl under labelled/. The split is by a fixed seed
within each (language, batch) group: the ministry dataset (leads not checked against the
outlets) never goes to test. Kept for provenance; the files it wrote are the data.
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIELDS = ("id", "lang", "variant", "title", "summary", "source", "url", "batch")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def passes(folder: Path, name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob(name)):
        for row in read(path):
            out[row["id"]] = sorted(row["topics"])
    return out


def main() -> None:
    folder = Path(sys.argv[1])
    items = read(HERE / "items.jsonl") + read(HERE / "items_labour.jsonl")
    a, b = passes(folder, "A.*.labels.jsonl"), passes(folder, "B.*.labels.jsonl")
    judged = passes(folder, "adjudicated.*.jsonl")
    labels, final = [], {}
    for item in items:
        key = item["id"]
        agreed = a[key] == b[key]
        final[key] = a[key] if agreed else judged[key]
        adjudicated = None if agreed else judged[key]
        labels.append(
            {"id": key, "a": a[key], "b": b[key], "adjudicated": adjudicated, "topics": final[key]}
        )
    with (HERE / "labels.jsonl").open("w", encoding="utf-8") as out:
        for row in labels:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for item in items:
        groups[(item["lang"], item["batch"])].append(item)
    splits: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    rng = random.Random(11)
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda it: it["id"])
        rng.shuffle(group)
        n = len(group)
        test = 0 if key[1] == "ministry-dataset" else round(n * 0.30)
        dev = round(n * 0.20)
        splits["test"] += group[:test]
        splits["dev"] += group[test : test + dev]
        splits["train"] += group[test + dev :]
    (HERE / "labelled").mkdir(exist_ok=True)
    for name, rows in splits.items():
        with (HERE / "labelled" / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for item in sorted(rows, key=lambda it: it["id"]):
                row = {f: item[f] for f in FIELDS} | {"topics": final[item["id"]]}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(name, len(rows))


if __name__ == "__main__":
    main()
