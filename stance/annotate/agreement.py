"""Agreement between annotators of one project: Cohen's kappa per pair, Fleiss' kappa overall, the disagreements.

Cohen's kappa comes from scikit-learn (``cohen_kappa_score``) on the
statements both annotators of a pair labelled. Fleiss' kappa is computed on
the statements with at least two labels, in the form that allows a different
number of annotators per statement (with the same number it is Fleiss' 1971
statistic): ``P_i = (Σ_j n_ij² − n_i) / (n_i (n_i − 1))``, ``p_j = Σ_i n_ij /
Σ_i n_i``, ``κ = (mean P_i − Σ p_j²) / (1 − Σ p_j²)``.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from stance.errors import StanceError


def fleiss_kappa(table: np.ndarray) -> float:
    """Fleiss' kappa of an (items × categories) table of counts; every item needs at least two ratings."""
    table = np.asarray(table, dtype=np.float64)
    n_i = table.sum(axis=1)
    if len(table) == 0 or (n_i < 2).any():
        raise ValueError("every item needs at least two ratings")
    p_i = ((table**2).sum(axis=1) - n_i) / (n_i * (n_i - 1))
    p_j = table.sum(axis=0) / n_i.sum()
    expected = float((p_j**2).sum())
    if expected == 1.0:
        return float("nan")  # one category only: agreement by chance is certain, kappa is undefined
    return (float(p_i.mean()) - expected) / (1.0 - expected)


def agreement(frame: pd.DataFrame, labels: list[str]) -> dict[str, Any]:
    """Figures for the labels in force (columns ``id, text, label, annotator``)."""
    from sklearn.metrics import cohen_kappa_score

    annotators = sorted(frame["annotator"].unique())
    if len(annotators) < 2:
        raise StanceError(
            f"agreement needs two annotators; this project has {len(annotators)} "
            f"({', '.join(annotators) or 'none'}): have a second person label with --annotator NAME "
            "and --per-statement 2"
        )
    wide = frame.pivot_table(index="id", columns="annotator", values="label", aggfunc="last")
    pairs = []
    for a, b in combinations(annotators, 2):
        both = wide[[a, b]].dropna()
        if both.empty:
            pairs.append({"annotators": [a, b], "statements": 0, "kappa": None, "agreement": None})
            continue
        kappa = float(cohen_kappa_score(both[a], both[b], labels=labels))
        pairs.append(
            {
                "annotators": [a, b],
                "statements": len(both),
                "kappa": None if math.isnan(kappa) else round(kappa, 4),
                "agreement": round(float((both[a] == both[b]).mean()), 4),
            }
        )
    shared = wide[wide.notna().sum(axis=1) >= 2]
    fleiss = None
    if len(shared):
        table = np.array([[int((row == label).sum()) for label in labels] for _, row in shared.iterrows()])
        value = fleiss_kappa(table)
        fleiss = {
            "kappa": None if math.isnan(value) else round(value, 4),
            "statements": len(shared),
            "annotators_per_statement": [int(table.sum(axis=1).min()), int(table.sum(axis=1).max())],
        }
    texts = frame.drop_duplicates("id").set_index("id")["text"]
    disagreements = []
    for statement_id, row in shared.iterrows():
        given = row.dropna()
        if given.nunique() > 1:
            disagreements.append({"id": statement_id, "text": texts[statement_id], "labels": given.to_dict()})
    return {"annotators": annotators, "pairs": pairs, "fleiss": fleiss, "disagreements": disagreements}


def format_agreement(result: dict[str, Any], max_text: int = 90) -> str:
    def kappa(value) -> str:
        return "undefined (one label only)" if value is None else f"{value:.4f}"

    lines = [f"annotators: {', '.join(result['annotators'])}"]
    for pair in result["pairs"]:
        a, b = pair["annotators"]
        if not pair["statements"]:
            lines.append(f"Cohen's kappa {a} / {b}: no statement labelled by both")
        else:
            lines.append(
                f"Cohen's kappa {a} / {b}: {kappa(pair['kappa'])} on {pair['statements']} statements "
                f"(raw agreement {pair['agreement']:.1%})"
            )
    fleiss = result["fleiss"]
    if fleiss:
        low, high = fleiss["annotators_per_statement"]
        per = str(low) if low == high else f"{low}-{high}"
        lines.append(
            f"Fleiss' kappa: {kappa(fleiss['kappa'])} on {fleiss['statements']} statements ({per} annotators each)"
        )
    else:
        lines.append("Fleiss' kappa: no statement has two labels yet")
    lines.append(f"disagreements: {len(result['disagreements'])}")
    for item in result["disagreements"]:
        text = item["text"] if len(item["text"]) <= max_text else item["text"][: max_text - 1] + "…"
        given = ", ".join(f"{who}={label}" for who, label in item["labels"].items())
        lines.append(f"  {item['id']}\t{given}\t{text}")
    return "\n".join(lines)
