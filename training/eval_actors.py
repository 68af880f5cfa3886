"""Precision and recall of actor tagging (:mod:`stance.text.actors`) on hand-annotated statements.

The gold file (``tests/text/fixtures/actors_gold.jsonl``) holds statements of
../shared/data/stance, each with the actors a person found by reading it, before
the tagger was run on them: ``tuning``, 210 drawn at random (seed 17) from
``dev_outlets.tsv`` (110) and ``dev.tsv`` (100), whose errors were then used to
fix the gazetteer; ``heldout``, 80 drawn (seed 18) from ``train_outlets.tsv``
(40) and ``train.tsv`` (40) after the fixes, never used to change it. Annotation rules: an actor counts when the
statement names it or refers to it by a capital standing for its government, a
metonym (البيت الأبيض), an institution, or a nationality adjective or demonym
(وزارة الخارجية الروسية، المصريين), also inside a company or body name (أرامكو
السعودية); it does not count when a country name is only part of another proper
name (كأس ألمانيا، حزب مصر الحرية، باريس سان جيرمان), when a capital is only a
venue or place of residence (مقيم في نيروبي، منتدى في موسكو), or when only a
person (بوتين) or an unnamed body (المملكة، الحكومة) is mentioned.

Scores are micro-averaged over (statement, actor) pairs (scikit-learn).

    python training/eval_actors.py [--errors]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from stance.text.actors import ActorTagger

GOLD = Path(__file__).resolve().parents[1] / "tests" / "text" / "fixtures" / "actors_gold.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default=str(GOLD))
    parser.add_argument("--errors", action="store_true", help="print every missed and spurious actor")
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.gold).read_text(encoding="utf-8").splitlines() if line.strip()]
    tagger = ActorTagger.load()
    pred_all = [set(tagger.tag(r["text"])) for r in rows]
    for split in ("tuning", "heldout", None):
        chosen = [i for i, r in enumerate(rows) if split is None or r.get("split") == split]
        if chosen:
            report(split or "all", [set(rows[i]["actors"]) for i in chosen], [pred_all[i] for i in chosen])
    if args.errors:
        for row, q in zip(rows, pred_all):
            g = set(row["actors"])
            if g != q:
                print(f"\n[{row.get('split')}] {row['id']}  missed {sorted(g - q)}  spurious {sorted(q - g)}")
                print(f"  {row['text'][:300]}")


def report(name: str, gold: list[set[str]], pred: list[set[str]]) -> None:
    binarizer = MultiLabelBinarizer().fit(gold + pred)
    p, r, f, _ = precision_recall_fscore_support(
        binarizer.transform(gold), binarizer.transform(pred), average="micro", zero_division=0
    )
    tp = sum(len(g & q) for g, q in zip(gold, pred))
    exact = sum(1 for g, q in zip(gold, pred) if g == q)
    print(
        f"{name:>8}: {len(gold)} statements ({sum(1 for g in gold if g)} with actors), gold mentions "
        f"{sum(map(len, gold))}, tagged {sum(map(len, pred))}, correct {tp}: precision {p:.3f}  recall {r:.3f}  "
        f"F1 {f:.3f}; statements exactly right {exact}/{len(gold)}"
    )


if __name__ == "__main__":
    main()
