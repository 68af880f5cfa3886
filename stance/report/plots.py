"""The report's pictures, drawn with matplotlib (Agg backend, no display needed) from a summary dict."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

COLOURS = {
    "conciliatory": "#2e8b57",
    "hostile": "#c0392b",
    "neutral": "#9aa0a6",
    "positive": "#2e8b57",
    "negative": "#c0392b",
}
_FALLBACK = ["#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    return plt


def _colour(label: str, i: int) -> str:
    return COLOURS.get(label, _FALLBACK[i % len(_FALLBACK)])


def focus_label(labels: list[str]) -> str:
    """The label the heat map and timelines show: hostile, else negative, else the first label."""
    for lab in ("hostile", "negative"):
        if lab in labels:
            return lab
    return labels[0]


def periods_plot(summary: dict[str, Any], path: Path) -> bool:
    periods = summary["periods"]
    if not periods:
        return False
    plt = _pyplot()
    labels = summary["labels"]
    names = [p["period"] for p in periods]
    x = list(range(len(names)))
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(max(7, 0.45 * len(names) + 3), 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    shares = [[p["shares"][lab] for p in periods] for lab in labels]
    top.stackplot(x, shares, labels=labels, colors=[_colour(lab, i) for i, lab in enumerate(labels)], alpha=0.9)
    top.set_ylim(0, 1)
    top.set_ylabel("share of statements")
    top.set_title(f"Label shares per {summary['period']}")
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    bottom.bar(x, [p["n"] for p in periods], color="#5f6b7a")
    bottom.set_ylabel("n")
    for xi, p in zip(x, periods):
        bottom.annotate(str(p["n"]), (xi, p["n"]), ha="center", va="bottom", fontsize=7)
    bottom.set_xticks(x, names, rotation=60, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def shares_bars(rows: list[dict[str, Any]], key: str, labels: list[str], title: str, path: Path, limit: int) -> bool:
    """Horizontal stacked bars of label shares, one bar per row (most frequent first), each named with its n."""
    rows = rows[:limit]
    if not rows:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(rows) + 1.6))
    names = [f"{r[key]}  (n={r['n']})" for r in rows][::-1]
    left = [0.0] * len(rows)
    for i, lab in enumerate(labels):
        values = [r["shares"][lab] for r in rows][::-1]
        ax.barh(names, values, left=left, color=_colour(lab, i), label=lab)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of statements")
    ax.set_title(title, pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(labels), frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def pair_heatmap(summary: dict[str, Any], path: Path, max_actors: int) -> bool:
    """Share of the focus label among statements that co-mention each pair of the most co-mentioned actors."""
    pairs = summary["pairs"]
    if not pairs:
        return False
    target = focus_label(summary["labels"])
    chosen: list[str] = []
    for pair in pairs:  # most frequent pairs first
        for actor in pair["actors"]:
            if actor not in chosen and len(chosen) < max_actors:
                chosen.append(actor)
    index = {a: i for i, a in enumerate(chosen)}
    cells = {}
    for pair in pairs:
        a, b = pair["actors"]
        if a in index and b in index:
            cells[(index[a], index[b])] = cells[(index[b], index[a])] = (pair["shares"][target], pair["n"])
    if not cells:
        return False
    plt = _pyplot()
    import numpy as np

    grid = np.full((len(chosen), len(chosen)), np.nan)
    for (i, j), (share, _) in cells.items():
        grid[i, j] = share
    size = 0.62 * len(chosen) + 2.8
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="Reds", vmin=0, vmax=1)
    ax.set_xticks(range(len(chosen)), chosen, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(chosen)), chosen, fontsize=8)
    for (i, j), (share, n) in cells.items():
        colour = "white" if share > 0.6 else "black"  # readable on dark cells
        ax.text(j, i, f"{share:.0%}\nn={n}", ha="center", va="center", fontsize=6.5, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=f"{target} share")
    ax.set_title(f"{target.capitalize()} share of statements mentioning both actors")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def actor_timelines(summary: dict[str, Any], path: Path) -> bool:
    timelines = [t for t in summary["actor_timelines"] if any(p["n"] for p in t["periods"])]
    if not timelines or len(summary["periods"]) < 2:
        return False
    plt = _pyplot()
    target = focus_label(summary["labels"])
    names = [p["period"] for p in summary["periods"]]
    fig, ax = plt.subplots(figsize=(max(7, 0.45 * len(names) + 3), 4.2))
    for i, timeline in enumerate(timelines):
        xs = [k for k, p in enumerate(timeline["periods"]) if p["n"]]
        ys = [timeline["periods"][k]["shares"][target] for k in xs]
        ns = [timeline["periods"][k]["n"] for k in xs]
        ax.plot(xs, ys, marker="o", label=timeline["actor"], color=_FALLBACK[i % len(_FALLBACK)])
        for xv, yv, n in zip(xs, ys, ns):
            ax.annotate(f"n={n}", (xv, yv), textcoords="offset points", xytext=(0, 5), ha="center", fontsize=6)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(f"{target} share")
    ax.set_title(f"{target.capitalize()} share of statements mentioning each actor, per {summary['period']}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def draw_all(summary: dict[str, Any], folder: Path, top: int, heatmap_actors: int) -> dict[str, str]:
    """Write every plot the summary supports; returns {section: file name} for those written."""
    labels = summary["labels"]
    written: dict[str, str] = {}
    plans = [
        ("periods", "periods.png", lambda p: periods_plot(summary, p)),
        (
            "groups",
            "groups.png",
            lambda p: shares_bars(
                summary["groups"], "group", labels, f"Label shares per {summary['group_column']}", p, top
            ),
        ),
        (
            "actors",
            "actors.png",
            lambda p: shares_bars(summary["actors"], "actor", labels, "Label shares per actor mentioned", p, top),
        ),
        ("pairs", "pairs.png", lambda p: pair_heatmap(summary, p, heatmap_actors)),
        ("timelines", "actor_timelines.png", lambda p: actor_timelines(summary, p)),
    ]
    for section, name, draw in plans:
        if draw(folder / name):
            written[section] = name
    return written
