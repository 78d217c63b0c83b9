"""Build a later batch from its two labelling passes and the adjudication.

    python tests/data/topics_corpus/make_extra.py ITEMS_DIR PASSES_DIR [extra|check]

ITEMS_DIR holds the collectors' files (<letter>.jsonl, fields as in items.jsonl, ids
tx-<letter>-<lang>-<nnnn>); PASSES_DIR holds A.*.labels.jsonl and B.*.labels.jsonl (one pass
each over every item, made independently) and adjudicated.*.jsonl (a third reader's decision
where the passes differ). Writes items_<name>.jsonl, labels_<name>.jsonl (both passes, the
adjudication and the final topics) and the labelled file: for `extra` (the default)
labelled/train_extra.jsonl, training data only (collected after the split, partly looking
for the rare topics, so it never goes to dev or test, which stay as make_splits.py wrote
them); for `check`, labelled/check_labour.jsonl, a labour-news set collected after the model
was trained and never trained on. Kept for provenance; the files it wrote are the data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from make_splits import FIELDS, HERE, passes, read

LABELLED = {"extra": "train_extra.jsonl", "check": "check_labour.jsonl"}


def main() -> None:
    items_dir, folder = Path(sys.argv[1]), Path(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else "extra"
    items = sorted(
        (item for path in sorted(items_dir.glob("[a-z].jsonl")) for item in read(path)),
        key=lambda it: it["id"],
    )
    a, b = passes(folder, "A.*.labels.jsonl"), passes(folder, "B.*.labels.jsonl")
    judged = passes(folder, "adjudicated.*.jsonl")
    columns = (*FIELDS[:7], "provenance", FIELDS[7])
    with (
        (HERE / f"items_{name}.jsonl").open("w", encoding="utf-8") as out_items,
        (HERE / f"labels_{name}.jsonl").open("w", encoding="utf-8") as out_labels,
        (HERE / "labelled" / LABELLED[name]).open("w", encoding="utf-8") as out_train,
    ):
        for item in items:
            key = item["id"]
            agreed = a[key] == b[key]
            topics = a[key] if agreed else judged[key]
            row = {"id": key, "a": a[key], "b": b[key]}
            row |= {"adjudicated": None if agreed else topics, "topics": topics}
            out_items.write(json.dumps({f: item[f] for f in columns}, ensure_ascii=False) + "\n")
            out_labels.write(json.dumps(row, ensure_ascii=False) + "\n")
            labelled = {f: item[f] for f in FIELDS} | {"topics": topics}
            out_train.write(json.dumps(labelled, ensure_ascii=False) + "\n")
    print(LABELLED[name], len(items))


if __name__ == "__main__":
    main()
