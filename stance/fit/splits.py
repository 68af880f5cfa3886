"""Training and dev data for a run: loading, the held-out split and duplicate checks."""

from __future__ import annotations

import logging

from stance.errors import StanceError
from stance.fit.config import TrainingConfig
from stance.io.data import LabelledData, load_labelled, split_dev

logger = logging.getLogger(__name__)


def load_splits(config: TrainingConfig) -> tuple[LabelledData, dict[str, LabelledData]]:
    """Training data (every train file, concatenated) and the named dev sets.

    Without a dev file, a (grouped) stratified split of the training data is
    held out as ``dev``. Dev sets come in :meth:`TrainingConfig.named_dev_files`
    order; texts shared between train and any dev set are refused.
    """
    common = dict(
        text_column=config.text_column,
        label_column=config.label_column,
        strict=config.strict,
        label_map=config.label_map or None,
    )
    files = config.train_files
    if not files:
        raise StanceError("training needs a train file: --train FILE [FILE ...]")
    train = LabelledData.concat(
        [
            load_labelled(
                path,
                group_column=config.group_column,
                weight_column=config.weight_column,
                weight_map=config.weight_map,
                source_column=config.source_column,
                **common,
            )
            for path in files
        ]
    )
    named = config.named_dev_files()
    select = config.selection_set  # refuse an unknown --select-on before loading anything else
    logger.debug("choosing checkpoints on dev set %s", select)
    if named:
        devs = {name: load_labelled(path, min_classes=1, **common) for name, path in named.items()}
    else:
        train, held_out = split_dev(train, config.dev_fraction, config.seed)
        devs = {"dev": held_out}
        logger.info(
            "held out %d of %d rows as dev (stratified%s)",
            len(held_out),
            len(train) + len(held_out),
            ", grouped by " + config.group_column if config.group_column else "",
        )
    for name, dev in devs.items():
        unknown = sorted(set(dev.labels) - set(train.labels))
        if unknown:
            raise StanceError(
                f"labels {unknown} of dev set {name!r} never occur in the training data: fix the labels or use "
                "--label-map"
            )
        report_duplicates(train, dev, named.get(name) or ", ".join(files), within_train=name == next(iter(devs)))
    return train, devs


def _near_key(text: str) -> str:
    import re

    return re.sub(r"[\W_\d]+", "", text).lower()


def report_duplicates(train: LabelledData, dev: LabelledData, dev_name: str, within_train: bool = True) -> None:
    """Warn about exact and near duplicates in train (``within_train``: once per run, not per dev set);
    refuse texts that sit in both train and dev."""
    from collections import Counter

    exact = sum(n - 1 for n in Counter(train.texts).values() if n > 1) if within_train else 0
    near = sum(n - 1 for n in Counter(map(_near_key, train.texts)).values() if n > 1) - exact if within_train else 0
    if exact or near:
        logger.warning(
            "training data: %d exact and %d near-duplicate text(s) (same letters, other punctuation, digits or case)",
            exact,
            max(near, 0),
        )
    shared = sorted(set(train.texts) & set(dev.texts))
    if shared:
        raise StanceError(
            f"{len(shared)} text(s) occur in both train and dev (e.g. {shared[0][:60]!r}), so dev would "
            f"overstate accuracy: remove them from {dev_name} or from the training data"
        )
    dev_keys = {_near_key(t) for t in dev.texts}
    near_shared = sum(1 for k in {_near_key(t) for t in train.texts} if k and k in dev_keys)
    if near_shared:
        logger.warning(
            "%d near-duplicate text(s) across train and dev set %s (same letters, other punctuation or digits)",
            near_shared,
            dev_name,
        )
