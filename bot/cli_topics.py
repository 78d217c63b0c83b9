"""`topics train`, `topics eval` and `classify --explain` of the command line.

None of these need settings, a database or Telegram. scikit-learn is imported by
`topics train` only, inside `feeds.topic_train`; without it that command says how to
install it and exits with code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO


def add_parsers(sub: Any) -> None:
    """The `topics` command and its subcommands."""
    topics = sub.add_parser("topics", help="train and evaluate the topic model").add_subparsers(
        dest="topics_command", required=True, metavar="{train,eval}"
    )
    train = topics.add_parser("train", help="train the topic model on labelled JSON Lines")
    train.add_argument("data", nargs="+", type=Path, metavar="DATA.jsonl")
    train.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL")
    train.add_argument(
        "--dev",
        nargs="+",
        type=Path,
        metavar="DEV.jsonl",
        help="choose thresholds on these items (default: 5-fold out-of-fold scores of DATA)",
    )
    train.add_argument(
        "--cv", type=int, default=0, metavar="K", help="also print K-fold figures on DATA"
    )
    train.add_argument(
        "--C",
        dest="c",
        type=float,
        default=None,
        help="inverse regularisation strength of the logistic regressions (default 4)",
    )
    ev = topics.add_parser("eval", help="per-topic P/R/F1 and micro-F1 on labelled JSON Lines")
    ev.add_argument("data", nargs="+", type=Path, metavar="DATA.jsonl")
    ev.add_argument("--model", type=Path, metavar="MODEL", help="default: the packaged model")
    ev.add_argument("--rules-only", action="store_true", help="leave the model out")


def topics_command(args: argparse.Namespace) -> int:
    """Run `topics train` or `topics eval`; 1 when data, model or scikit-learn is missing."""
    from feeds.topic_model import TopicModel, TopicModelError
    from feeds.topic_train import DataError, evaluate, examples, read_labelled
    from feeds.topics import Taxonomy

    taxonomy = Taxonomy.load()
    try:
        data = examples(read_labelled(args.data), taxonomy)
        if args.topics_command == "train":
            dev = examples(read_labelled(args.dev), taxonomy) if args.dev else None
            return _train(data, dev, taxonomy, args)
        model = None if args.rules_only else TopicModel.load(args.model)
    except (DataError, TopicModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    label = "rules only" if model is None else f"rules + model ({args.model or 'packaged'})"
    print(f"{label}, {len(data)} items from {', '.join(map(str, args.data))}")
    print(evaluate(data, taxonomy, model).report(taxonomy.slugs))
    return 0


def _train(data: list, dev: list | None, taxonomy: Any, args: argparse.Namespace) -> int:
    from feeds.topic_train import C, MissingTrainer, cross_validate, evaluate, train

    c = C if args.c is None else args.c
    try:
        model = train(data, taxonomy, dev, c=c)
        folds = cross_validate(data, taxonomy, c=c, folds=args.cv) if args.cv > 1 else None
    except MissingTrainer as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    raw = model.dump()
    args.output.write_bytes(raw)
    print(
        f"trained on {len(data)} items: {model.features} features, "
        f"{len(raw):,} bytes -> {args.output}"
    )
    where = "the development items" if dev else "out-of-fold scores of the training items"
    print(f"thresholds (chosen on {where}):")
    for slug, threshold in zip(model.topics, model.thresholds, strict=True):
        print(f"  {slug:10s} {threshold:+.4f}")
    print(f"a second topic needs {model.second_margin} more")
    if dev:
        for name, used in (("rules only", None), ("rules + model", model)):
            print(f"\ndevelopment items ({len(dev)}), {name}:")
            print(evaluate(dev, taxonomy, used).report(taxonomy.slugs))
    if folds is not None:
        for name, scores in zip(("rules only", "rules + model"), folds, strict=True):
            print(f"\n{args.cv}-fold cross-validation on the training items, {name}:")
            print(scores.report(taxonomy.slugs))
    return 0


def explain_line(obj: dict[str, Any], title: str, summary: str) -> None:
    """Add lang, topics and `explain` (rules matched, model scores) to a classify line."""
    from feeds.pipeline import classifier_at, lead_of

    why = classifier_at(None, None).explain(title, lead_of(summary))
    obj["lang"], obj["topics"] = why.lang.value, sorted(why.topics)
    obj["explain"] = {
        "rules": why.rules,
        "sure": sorted(why.sure),
        "model": {
            slug: {"score": round(score, 3), "threshold": why.thresholds[slug]}
            for slug, score in why.scores.items()
        },
    }


def write_line(stdout: TextIO, obj: dict[str, Any]) -> None:
    stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
