"""Measure story clustering on the labelled story clusters.

    python bench/stories.py [tests/data/stories] [--sweep]

Feeds the items through `feeds.stories.StoryIndex` in file order (as ingest would, one at a
time) and prints pairwise precision, same-language recall, kk-ru cross-language recall, how
many hard negatives were merged and hard positives found, and the throughput. `--sweep` also
prints precision and recall at lower thresholds, on each half of the stories (odd and even
story numbers), to show where precision gives way.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feeds.stories as stories  # noqa: E402
from feeds.stories import StoryIndex, fingerprint  # noqa: E402

DATA = ROOT / "tests" / "data" / "stories"
SEEN = datetime(2026, 1, 1, tzinfo=UTC)  # one instant: the labelled items span years


def read(path: Path) -> list[dict]:
    """One JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def cluster(items: list[dict]) -> dict[str, object]:
    """Item id -> predicted story, clustering the items one by one."""
    index = StoryIndex()
    predicted = {}
    for item in items:
        published = item.get("published") or None
        when = datetime.fromisoformat(published).replace(tzinfo=UTC) if published else None
        fp = fingerprint(
            item["title"],
            item["summary"],
            source=item["source"],
            lang=item.get("lang", ""),
            published=when,
        )
        predicted[item["id"]] = index.assign(item["id"], fp, SEEN)
    return predicted


def measure(items: list[dict], predicted: dict[str, object]) -> dict[str, float]:
    """Pairwise precision and recall (same-language and kk-ru) of a clustering."""
    tp = fp = 0
    hits = {"same": [0, 0], "cross": [0, 0]}
    for a, b in itertools.combinations(items, 2):
        together = predicted[a["id"]] == predicted[b["id"]]
        if a["story"] == b["story"]:
            tp += together
            kind = hits["same" if a["lang"] == b["lang"] else "cross"]
            kind[0] += together
            kind[1] += 1
        else:
            fp += together
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "same_recall": hits["same"][0] / max(hits["same"][1], 1),
        "cross_recall": hits["cross"][0] / max(hits["cross"][1], 1),
        "true_pairs": tp,
        "false_pairs": fp,
    }


def sweep(items: list[dict]) -> None:
    """Precision and recall per half of the stories at thresholds down from the one in use."""
    chosen = stories.THRESHOLD
    halves = {"odd": [], "even": []}
    for item in items:
        halves["odd" if int(item["story"][1:]) % 2 else "even"].append(item)
    try:
        for threshold in (chosen, 0.45, 0.4, 0.35, 0.3):
            stories.THRESHOLD = threshold
            for name, half in halves.items():
                f = measure(half, cluster(half))
                print(
                    f"threshold {threshold:.2f} {name:>4} half: precision {f['precision']:.3f}"
                    f", same-language recall {f['same_recall']:.3f}"
                    f", kk-ru recall {f['cross_recall']:.3f}"
                )
    finally:
        stories.THRESHOLD = chosen


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", type=Path, default=DATA)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    items = read(args.data / "items.jsonl")
    started = time.perf_counter()
    predicted = cluster(items)
    elapsed = time.perf_counter() - started
    figures = measure(items, predicted)
    print(f"items {len(items)}, predicted stories {len(set(predicted.values()))}")
    print(f"pairwise precision      {figures['precision']:.3f}  (target >= 0.97)")
    print(f"same-language recall    {figures['same_recall']:.3f}  (target >= 0.80)")
    print(f"kk-ru recall            {figures['cross_recall']:.3f}  (target >= 0.50)")
    print(f"pairs merged: {figures['true_pairs']} right, {figures['false_pairs']} wrong")
    for name, want in (("hard_negatives.jsonl", False), ("hard_positives.jsonl", True)):
        pairs = read(args.data / name)
        right = sum((predicted[p["a"]] == predicted[p["b"]]) == want for p in pairs)
        print(f"{name}: {right}/{len(pairs)} decided right")
    print(f"throughput              {len(items) / elapsed:,.0f} items/s")
    if args.sweep:
        sweep(items)


if __name__ == "__main__":
    main()
