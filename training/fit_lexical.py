"""Fit the lexical n-gram half of an already trained model folder and re-measure it on dev.

``stance train`` does this itself when the training config has a ``lexical``
section; this script adds (or refits) it for a model trained without one,
e.g. the shipped models:

    python training/fit_lexical.py models/stance --config training/configs/stance.json

``--data-config CONFIG`` takes the training files, dev sets and selection set
from another config instead (e.g. to refit the shipped model's lexical half on
both stance training files and choose its weight on ``dev_outlets``):

    python training/fit_lexical.py runs/shipped-copy --config training/configs/stance_outlets_full.json \
        --data-config training/configs/stance_outlets_full.json

The training data, dev data, groups and row weights come from the folder's own
``training_config.json``; the n-gram settings from the ``lexical`` section of
``--config`` (else of the folder's config, else the defaults), and are recorded
in the folder's ``training_config.json``. Writes ``lexical/`` into the folder and
rewrites ``metrics.json``, ``confusion.png`` and the model card.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from stance.fit.lexical_fit import attach_lexical
from stance.fit.trainer import TrainingConfig
from stance.modeling.folder import ModelSpec
from stance.modeling.lexical import LexicalConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a trained model folder")
    parser.add_argument("--config", help="a training config whose lexical section to use")
    parser.add_argument("--card-extra", help="markdown appended to the rewritten model card")
    parser.add_argument("--data-config", help="a training config whose train files, dev sets and select_on to use")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    folder = Path(args.model)
    config = TrainingConfig.from_file(folder / "training_config.json")
    if args.config:
        config.lexical = TrainingConfig.from_file(args.config).lexical
    config.lexical = config.lexical if config.lexical is not None else {}
    neural_config = None
    if args.data_config:
        import copy

        neural_config = copy.deepcopy(config)
        data = TrainingConfig.from_file(args.data_config)
        for key in ("train_file", "dev_file", "dev_sets", "select_on", "group_column", "weight_column", "weight_map"):
            setattr(config, key, getattr(data, key))
    settings = LexicalConfig.from_dict(config.lexical)
    saved = json.loads((folder / "training_config.json").read_text(encoding="utf-8"))
    saved["lexical"] = config.lexical  # the neural half's data settings stay as they were trained
    (folder / "training_config.json").write_text(json.dumps(saved, ensure_ascii=False, indent=2) + "\n")
    report = attach_lexical(folder, config, settings, neural_config=neural_config)
    if ModelSpec.load(folder).class_scale:
        logging.warning(
            "%s has a class-prior correction fitted on the previous probabilities: refit it with "
            "python training/calibrate.py %s --write",
            folder,
            folder,
        )
    if args.card_extra:
        card = folder / "README.md"
        extra = Path(args.card_extra).read_text(encoding="utf-8")
        card.write_text(card.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    parts = report["parts"]
    for set_name in report.get("dev_sets") or {report.get("selected_on", "dev"): report}:
        print(f"dev set {set_name}:")
        for name, part in (("neural", parts["neural"]), ("lexical", parts["lexical"]), ("combined", report)):
            part = part.get("dev_sets", {}).get(set_name, part)
            over = f"  F1-PN {part['f1_over']['f1']:.4f}" if "f1_over" in part else ""
            per_class = "  ".join(f"{lab} {part['per_class'][lab]['f1']:.4f}" for lab in report["labels"])
            print(f"  {name}: macro-F1 {part['macro_f1']:.4f}{over}  accuracy {part['accuracy']:.4f}  {per_class}")
    if "lexical_weight_grid" in parts:
        print(f"lexical weight grid (macro-F1 per dev set): {json.dumps(parts['lexical_weight_grid'])}")
        print(f"chosen weight: {parts['lexical_weight']:g}")


if __name__ == "__main__":
    main()
