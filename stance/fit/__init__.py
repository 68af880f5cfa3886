"""Fitting and measuring: the trainer, its configuration and data splits, the lexical half's fit,
metrics, class-prior calibration, weight averaging of LoRA models, LoRA extraction of fully tuned ones, file evaluation and the accuracy check of fast inference paths."""

from stance._lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "TrainingConfig": "config",
        "train": "trainer",
        "load_splits": "splits",
        "attach_lexical": "lexical_fit",
        "fit_class_scale": "calibration",
        "CalibrationSettings": "calibration",
        "classification_report": "metrics",
        "format_report": "metrics",
        "plot_confusion": "metrics",
        "evaluate_file": "evaluation",
        "soup": "soup",
        "SoupConfig": "soup",
        "extract_lora": "extract",
        "ExtractConfig": "extract",
        "check": "precision_check",
        "write_guard": "precision_check",
    },
)
