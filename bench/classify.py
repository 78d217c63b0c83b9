"""Measure language detection and topic matching on labelled items.

    python bench/classify.py [FILE ...]

Default: the development set, tests/data/labelled/dev.jsonl; name the held-out set
(tests/data/labelled/items.jsonl) explicitly to evaluate on it. Each line is
{"id", "lang", "title", "summary", "topics", "variant", ...}. Prints language accuracy on
title+summary and on titles alone (overall, per language, per variant), topic micro-F1 and
per-topic precision/recall/F1 (rules + model, and the rules alone), the misclassified items,
and throughput (`--rules-only`: of the rules alone). `--quiet` leaves out the lists of items
(for a locked test split).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feeds.language import detect  # noqa: E402
from feeds.pipeline import classifier_at, lead_of  # noqa: E402
from feeds.topics import Classifier, Taxonomy  # noqa: E402

RULES_ONLY = Classifier(Taxonomy.load(), None)


def classify_text(title: str, summary: str, rules_only: bool = False) -> tuple:
    """What ingest does (feeds.pipeline.classify_text), or the same with the rules alone."""
    classifier = RULES_ONLY if rules_only else classifier_at(None, None)
    return classifier.classify(title, lead_of(summary))


LABELLED = ROOT / "tests" / "data" / "labelled"


def load(paths: list[Path]) -> list[dict]:
    """Read JSONL items from every file, skipping blank lines."""
    items = []
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                items.append(json.loads(line))
    return items


def lang_report(items: list[dict], titles_only: bool) -> list[tuple[dict, str]]:
    """Print accuracy overall, per language and per variant; return the misses."""
    misses = []
    total: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for item in items:
        got = detect(item["title"], "" if titles_only else item.get("summary", "")).value
        for group in ("all", f"lang={item['lang']}", f"variant={item.get('variant')}"):
            total[group] += 1
            right[group] += got == item["lang"]
        if got != item["lang"]:
            misses.append((item, got))
    label = "titles only" if titles_only else "title+summary"
    print(
        f"\nLanguage accuracy, {label}: {right['all'] / total['all']:.4f} ({total['all']} items)"
    )
    for group in sorted(g for g in total if g != "all"):
        print(f"  {group:24s} {right[group] / total[group]:.4f}  ({right[group]}/{total[group]})")
    return misses


def topic_report(
    items: list[dict], taxonomy: Taxonomy, rules_only: bool = False
) -> list[tuple[dict, frozenset[str]]]:
    """Print micro-F1 and per-topic precision/recall/F1; return items with wrong topics."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    wrong = []
    for item in items:
        _, got = classify_text(item["title"], item.get("summary", ""), rules_only)
        want = frozenset(item.get("topics", []))
        for slug in got & want:
            tp[slug] += 1
        for slug in got - want:
            fp[slug] += 1
        for slug in want - got:
            fn[slug] += 1
        if got != want:
            wrong.append((item, got))
    p, r, f = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    label = "rules only" if rules_only else "rules + model"
    print(f"\nTopics micro, {label}: P={p:.4f} R={r:.4f} F1={f:.4f}")
    for slug in taxonomy.slugs:
        p, r, f = _prf(tp[slug], fp[slug], fn[slug])
        counts = f"tp={tp[slug]} fp={fp[slug]} fn={fn[slug]}"
        print(f"  {slug:10s} P={p:.3f} R={r:.3f} F1={f:.3f}  {counts}")
    return wrong


def served_micro_f1(items: list[dict], taxonomy: Taxonomy) -> None:
    """Print topic micro-F1 over kk/ru/en items only: the ones subscribers ever receive."""
    tp = fp = fn = 0
    served = [item for item in items if item["lang"] in ("kk", "ru", "en")]
    for item in served:
        _, got = classify_text(item["title"], item.get("summary", ""))
        want = frozenset(item.get("topics", []))
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    p, r, f = _prf(tp, fp, fn)
    print(f"Topics micro, kk/ru/en items only ({len(served)}): P={p:.4f} R={r:.4f} F1={f:.4f}")


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def throughput(items: list[dict], rules_only: bool, rounds: int = 20) -> None:
    """Print items/s of a first pass and of repeated passes (the best of `rounds`); the
    reports before it have already warmed the word caches."""
    start = time.perf_counter()
    for item in items:
        classify_text(item["title"], item.get("summary", ""), rules_only)
    cold = len(items) / (time.perf_counter() - start)
    warm = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            classify_text(item["title"], item.get("summary", ""), rules_only)
        warm = max(warm, len(items) / (time.perf_counter() - start))
    label = "rules only" if rules_only else "rules + model"
    print(f"\nThroughput (detect + topics, {label}): first pass {cold:,.0f} items/s,", end=" ")
    print(f"repeated {warm:,.0f} items/s (best of {rounds})")


def main() -> int:
    """Run every report on the given files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--quiet", action="store_true", help="figures only, no item lists")
    parser.add_argument(
        "--rules-only", action="store_true", help="time the rules alone (the model left out)"
    )
    args = parser.parse_args()
    files = args.files or [LABELLED / "dev.jsonl"]
    items = load(files)
    print(f"{len(items)} items from {', '.join(str(f) for f in files)}")
    taxonomy = Taxonomy.load()
    lang_misses = lang_report(items, titles_only=False)
    title_misses = lang_report(items, titles_only=True)
    topic_report(items, taxonomy, rules_only=True)
    topic_misses = topic_report(items, taxonomy)
    served_micro_f1(items, taxonomy)
    if args.quiet:
        throughput(items, args.rules_only)
        return 0
    print("\nLanguage misses (title+summary): id, expected, got, title")
    for item, got in lang_misses:
        print(f"  {item['id']}  {item['lang']} -> {got}  {item['title'][:90]}")
    print("\nLanguage misses (titles only): id, expected, got, title")
    for item, got in title_misses:
        print(f"  {item['id']}  {item['lang']} -> {got}  {item['title'][:90]}")
    print("\nTopic misses: id, expected, got, title")
    for item, got in topic_misses:
        want = ",".join(sorted(item.get("topics", []))) or "-"
        print(f"  {item['id']}  {want} -> {','.join(sorted(got)) or '-'}  {item['title'][:80]}")
    throughput(items, args.rules_only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
